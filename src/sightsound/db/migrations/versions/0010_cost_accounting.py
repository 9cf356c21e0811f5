"""cost accounting: model seconds and checker tokens per job, accelerator seconds per training run

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("teacher_seconds", sa.Float(), nullable=True))
    op.add_column("jobs", sa.Column("verifier_seconds", sa.Float(), nullable=True))
    op.add_column("jobs", sa.Column("checker_seconds", sa.Float(), nullable=True))
    op.add_column("jobs", sa.Column("checker_prompt_tokens", sa.BigInteger(), nullable=True))
    op.add_column("jobs", sa.Column("checker_completion_tokens", sa.BigInteger(), nullable=True))
    op.add_column("training_runs", sa.Column("accelerator_seconds", sa.Float(), nullable=True))
    op.add_column("training_runs", sa.Column("accelerator", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("training_runs", "accelerator")
    op.drop_column("training_runs", "accelerator_seconds")
    for column in ("checker_completion_tokens", "checker_prompt_tokens", "checker_seconds", "verifier_seconds",
                   "teacher_seconds"):
        op.drop_column("jobs", column)
