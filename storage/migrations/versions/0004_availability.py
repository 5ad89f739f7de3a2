"""availability

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:04:54.195493
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_fetch_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_reported", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "user_id", name="uq_calendar_feeds_member"),
    )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_feeds_next_fetch_at"), ["next_fetch_at"], unique=False
        )

    op.create_table(
        "external_busy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["calendar_feeds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("external_busy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_external_busy_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(
            "ix_external_busy_member_time", ["team_id", "user_id", "start_at"], unique=False
        )

    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("busy_from", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("busy_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_attendees_member_busy", ["slack_user_id", "busy_from"], unique=False
        )
    # Members already invited keep their meetings' times as busy.
    op.execute(
        """
        UPDATE attendees SET
            busy_from = (SELECT start_at FROM events WHERE events.id = attendees.event_id),
            busy_until = (SELECT end_at FROM events WHERE events.id = attendees.event_id)
        WHERE kind = 'member' AND removed_at IS NULL AND response <> 'declined'
          AND event_id IN (SELECT id FROM events WHERE status = 'confirmed')
        """
    )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_organizer_time", ["organizer_id", "start_at", "end_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_organizer_time")

    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.drop_index("ix_attendees_member_busy")
        batch_op.drop_column("busy_until")
        batch_op.drop_column("busy_from")

    with op.batch_alter_table("external_busy", schema=None) as batch_op:
        batch_op.drop_index("ix_external_busy_member_time")
        batch_op.drop_index(batch_op.f("ix_external_busy_feed_id"))

    op.drop_table("external_busy")
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feeds_next_fetch_at"))

    op.drop_table("calendar_feeds")
