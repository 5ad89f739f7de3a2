"""the organizer's open Guests views, redrawn when the delivery ledger moves

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guests_views_shown",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("view_id", sa.String(length=64), nullable=False),
        sa.Column("view_hash", sa.String(length=128), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "user_id"),
    )
    op.create_index(
        "ix_guests_views_shown_shown_at", "guests_views_shown", ["shown_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_guests_views_shown_shown_at", table_name="guests_views_shown")
    op.drop_table("guests_views_shown")
