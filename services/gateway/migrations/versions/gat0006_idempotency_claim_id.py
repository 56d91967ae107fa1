"""idempotency claim id: only the holder of a claim completes or releases it, as claims can now be taken over

Revision ID: gat0006
Revises: gat0005
Create Date: 2026-11-28 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'gat0006'
down_revision: str | None = 'gat0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: records claimed before this revision have none (completed ones need none; one still in progress
    # lapses with its lease and is taken over).
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_id', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('claim_id')
