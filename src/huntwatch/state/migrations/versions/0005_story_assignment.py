"""story assignment to an expert

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 04:27:49.663671
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to")
