"""free/busy finds a workspace's running series from an index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_events_team_series_end", "events", ["team_id", "series_end_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_events_team_series_end", table_name="events")
