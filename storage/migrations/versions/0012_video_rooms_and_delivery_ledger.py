"""video rooms and the delivery ledger

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_url", sa.Text(), nullable=True))
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_via", sa.String(length=16), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("report", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("report_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("person_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("video_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("person_settings", schema=None) as batch_op:
        batch_op.drop_column("video_default")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("report_reason")
        batch_op.drop_column("report")
        batch_op.drop_column("queue_id")
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.drop_column("answered_via")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("video_url")
