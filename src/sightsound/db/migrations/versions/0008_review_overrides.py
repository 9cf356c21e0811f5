"""review_overrides: reviewers overruling a claim's verdict or a trace's decision (an audit trail beside the
machine's verdicts, never overwriting them)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_overrides",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("trace_id", sa.BigInteger(), sa.ForeignKey("traces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("machine", sa.String(16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("reviewer", sa.String(255), nullable=False),
        sa.Column("reviewer_key_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "(claim_id IS NOT NULL AND verdict IS NOT NULL AND decision IS NULL) OR "
            "(claim_id IS NULL AND decision IS NOT NULL AND verdict IS NULL)",
            name="ck_review_target",
        ),
        sa.UniqueConstraint("idempotency_key", name="review_overrides_idempotency_key_key"),
    )
    op.create_index("ix_review_overrides_trace", "review_overrides", ["trace_id", "id"])
    op.create_index("ix_review_overrides_claim", "review_overrides", ["claim_id", "id"])


def downgrade() -> None:
    op.drop_table("review_overrides")
