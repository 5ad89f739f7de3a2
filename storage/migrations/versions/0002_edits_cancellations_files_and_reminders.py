"""edits, cancellations, files and reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:30:05.353195
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("slack_file_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_key"),
    )
    with op.batch_alter_table("event_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_files_event_id"), ["event_id"], unique=False)

    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redraw_key", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_redraw_key"), ["redraw_key"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reminder_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("remind_guests", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reminder_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_message", sa.Text(), nullable=False, server_default="")
        )
        batch_op.create_index(
            batch_op.f("ix_events_reminder_due_at"), ["reminder_due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_reminder_due_at"))
        batch_op.drop_column("cancel_message")
        batch_op.drop_column("reminder_due_at")
        batch_op.drop_column("remind_guests")
        batch_op.drop_column("reminder_minutes")
        batch_op.drop_column("version")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_redraw_key"))
        batch_op.drop_column("redraw_key")

    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.drop_column("removed_at")

    with op.batch_alter_table("event_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_files_event_id"))

    op.drop_table("event_files")
