"""datasets and training runs: idempotency keys, run cancel flag, attempts, timestamps, output folder

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("datasets", sa.Column("idempotency_key", sa.String(length=255), nullable=True))
    op.create_unique_constraint("datasets_idempotency_key_key", "datasets", ["idempotency_key"])
    op.add_column("training_runs", sa.Column("cancel_requested", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("training_runs", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("training_runs", sa.Column("output_url", sa.Text(), nullable=True))
    op.add_column("training_runs", sa.Column("idempotency_key", sa.String(length=255), nullable=True))
    op.add_column("training_runs", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("training_runs", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint("training_runs_idempotency_key_key", "training_runs", ["idempotency_key"])
    op.create_index("ix_training_runs_state_created", "training_runs", ["state", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_training_runs_state_created", table_name="training_runs")
    op.drop_constraint("training_runs_idempotency_key_key", "training_runs", type_="unique")
    for column in ("finished_at", "started_at", "idempotency_key", "output_url", "attempts", "cancel_requested"):
        op.drop_column("training_runs", column)
    op.drop_constraint("datasets_idempotency_key_key", "datasets", type_="unique")
    op.drop_column("datasets", "idempotency_key")
