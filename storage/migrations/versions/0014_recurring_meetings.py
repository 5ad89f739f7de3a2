"""meetings that repeat: the rule, occurrences cancelled or moved, answers per occurrence

Answers held for the organizer carry the occurrence they answer too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rrule", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("series_end_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "occurrence_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("recurrence_id", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "recurrence_id", name="uq_occurrence_changes_occurrence"),
    )
    op.create_table(
        "occurrence_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("attendee_id", sa.Integer(), nullable=False),
        sa.Column("recurrence_id", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attendee_id"], ["attendees.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attendee_id", "recurrence_id", name="uq_occurrence_answers_attendee"),
    )
    with op.batch_alter_table("held_replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recurrence_id", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("occurrence_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_occurrence_answers_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("occurrence_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occurrence_answers_event_id"))
    op.drop_table("occurrence_answers")
    with op.batch_alter_table("held_replies", schema=None) as batch_op:
        batch_op.drop_column("recurrence_id")
    op.drop_table("occurrence_changes")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("series_end_at")
        batch_op.drop_column("rrule")
