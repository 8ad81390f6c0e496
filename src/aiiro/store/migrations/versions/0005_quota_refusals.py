"""quota windows count their refusals (429s) too

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quota_windows") as batch:
        batch.add_column(sa.Column("refused", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("quota_windows") as batch:
        batch.drop_column("refused")
