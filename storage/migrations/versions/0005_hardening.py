"""one meeting per submitted form

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_view", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_events_source_view", ["team_id", "source_view"])


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_events_source_view", type_="unique")
        batch_op.drop_column("source_view")
