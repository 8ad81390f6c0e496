"""ids never reused; tokens bound to their key; account token cut-off

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 11:00:00

SQLite gives a deleted row's id to the next row unless the table is AUTOINCREMENT, which
only a table's definition can say: each table with an integer id is rebuilt (with foreign
key enforcement off, store/migrate.py) and copied. PostgreSQL sequences never reuse ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "accounts",
    "api_keys",
    "ssh_keys",
    "instances",
    "ip_addresses",
    "firewalls",
    "firewall_rules",
    "snapshots",
    "operations",
    "fault_rules",
    "web_sessions",
)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("token_salt", sa.String(32), server_default="", nullable=False))
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("tokens_after_ms", sa.BigInteger(), server_default="0", nullable=False)
        )
    if op.get_context().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("tokens_after_ms")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("token_salt")
