"""alert queue indexes for cross-tenant paging

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:13:49.898265
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_created_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_alerts_tag_created_id", ["tag", "created_at", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_tag_created_id")
        batch_op.drop_index("ix_alerts_created_id")
