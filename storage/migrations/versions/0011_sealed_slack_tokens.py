"""room for sealed Slack tokens

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00

Tokens are now stored sealed (encrypted, with a nonce and a tag, in base64), longer than the
200 characters slack_sdk's tables give a token. SQLite does not enforce a VARCHAR's length,
so only other databases have their columns widened.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TOKEN_COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in TOKEN_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(200))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in TOKEN_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.String(200), existing_type=sa.Text())
