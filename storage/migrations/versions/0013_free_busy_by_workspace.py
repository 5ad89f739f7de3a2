"""free/busy read from attendees alone: their workspace on the row, covering indexes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
        batch_op.drop_index("ix_attendees_member_busy")
        batch_op.create_index(
            "ix_attendees_member_busy",
            ["slack_user_id", "team_id", "busy_from", "busy_until", "event_id"],
            unique=False,
        )
    # Every attendee so far belongs to its meeting's workspace.
    op.execute(
        "UPDATE attendees SET team_id = "
        "(SELECT team_id FROM events WHERE events.id = attendees.event_id)"
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_team_organizer")
        batch_op.create_index(
            "ix_events_team_organizer",
            ["team_id", "organizer_id", "start_at", "end_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_team_organizer")
        batch_op.create_index("ix_events_team_organizer", ["team_id", "organizer_id"], unique=False)
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.drop_index("ix_attendees_member_busy")
        batch_op.create_index(
            "ix_attendees_member_busy", ["slack_user_id", "busy_from"], unique=False
        )
        batch_op.drop_column("team_id")
