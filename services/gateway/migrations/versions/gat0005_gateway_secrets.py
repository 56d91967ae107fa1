"""gateway secrets: keys the gateway generates once per installation (the page-token key), shared by its replicas

Revision ID: gat0005
Revises: gat0004
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'gat0005'
down_revision: str | None = 'gat0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('gateway_secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_gateway_secrets'))
    )


def downgrade() -> None:
    op.drop_table('gateway_secrets')
