"""personal settings, sending mailboxes, guest invitation quota

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailbox", sa.String(length=320), nullable=True))
    op.create_table(
        "person_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("reminder_minutes", sa.Integer(), nullable=True),
        sa.Column("notify_on_decision", sa.Boolean(), nullable=False),
        sa.Column("work_start_minute", sa.Integer(), nullable=False),
        sa.Column("work_end_minute", sa.Integer(), nullable=False),
        sa.Column("work_days", sa.String(length=7), nullable=False),
        sa.Column("guest_language", sa.String(length=8), nullable=True),
        sa.Column("mailbox", sa.String(length=320), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "user_id", name="uq_person_settings_member"),
    )
    op.create_table(
        "held_forms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_held_forms_created_at", "held_forms", ["created_at"])
    op.create_table(
        "guest_invite_counts",
        sa.Column("team_id", sa.String(length=32), primary_key=True),
        sa.Column("month", sa.String(length=7), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("guest_invite_counts")
    op.drop_index("ix_held_forms_created_at", table_name="held_forms")
    op.drop_table("held_forms")
    op.drop_table("person_settings")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("mailbox")
