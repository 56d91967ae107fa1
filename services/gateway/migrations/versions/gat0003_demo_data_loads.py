"""demo data loads: the demo data is loaded into an installation once

Revision ID: gat0003
Revises: gat0002
Create Date: 2026-11-26 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'gat0003'
down_revision: str | None = 'gat0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('demo_data_loads',
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('load_id', name=op.f('pk_demo_data_loads'))
    )


def downgrade() -> None:
    op.drop_table('demo_data_loads')
