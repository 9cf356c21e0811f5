"""trace_doubts: how unsure the verifier was of each decided trace, the review queue's order (derived; filled
once per trace by the review console)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_doubts",
        sa.Column("trace_id", sa.BigInteger(), sa.ForeignKey("traces.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("doubt", sa.Numeric(12, 6), nullable=False),
        sa.Column("lowest", sa.Float(), nullable=True),
        sa.Column("unverifiable", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("disagreed", sa.Boolean(), nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_trace_doubts_order", "trace_doubts", [sa.text("doubt DESC"), "trace_id"])
    op.create_index("ix_trace_doubts_decision_id", "trace_doubts", ["decision_id"])


def downgrade() -> None:
    op.drop_table("trace_doubts")
