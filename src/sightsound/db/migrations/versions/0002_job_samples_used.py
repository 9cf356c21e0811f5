"""jobs.samples_used: how many teacher samples a question used (adaptive sampling may stop early)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("samples_used", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "samples_used")
