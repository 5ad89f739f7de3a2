"""installations and OAuth states of workspaces that installed Meetbot

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"


def _slack_tables() -> sa.MetaData:
    # slack_sdk's stores read and write exactly these tables; take their definitions
    # from the library so the columns always match what the stores expect.
    metadata = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS)
    SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, OAUTH_STATES)
    return metadata


def upgrade() -> None:
    _slack_tables().create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    _slack_tables().drop_all(op.get_bind(), checkfirst=True)
