"""student registry, evaluations and benchmark imports: one deployed checkpoint, evaluation records and
their per-question items, audio-only clips, benchmark item ids and 2-4 choices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RUN_STATE = postgresql.ENUM("queued", "running", "succeeded", "failed", "cancelled", name="run_state",
                            create_type=False)
SPLIT = postgresql.ENUM("train", "validation", "test", name="split", create_type=False)


def upgrade() -> None:
    op.alter_column("clips", "width", existing_type=sa.Integer(), nullable=True)
    op.alter_column("clips", "height", existing_type=sa.Integer(), nullable=True)

    op.add_column("questions", sa.Column("source_ref", sa.String(length=255), nullable=True))
    op.add_column("questions", sa.Column("extra", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_index("ix_questions_source", "questions", ["source"], unique=False)
    op.drop_constraint("ck_questions_four_choices", "questions", type_="check")
    op.drop_constraint("ck_questions_answer", "questions", type_="check")
    op.create_check_constraint("ck_questions_choice_count", "questions", "jsonb_array_length(choices) BETWEEN 2 AND 4")
    op.create_check_constraint(
        "ck_questions_answer", "questions",
        "answer_index IS NULL OR (answer_index >= 0 AND answer_index < jsonb_array_length(choices))",
    )

    op.add_column("checkpoints", sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("uq_checkpoints_one_deployed", "checkpoints", ["deployed"], unique=True,
                    postgresql_where=sa.text("deployed"))

    op.add_column("evaluations", sa.Column("model_ref", sa.Text(), nullable=False, server_default=""))
    op.alter_column("evaluations", "model_ref", server_default=None)
    op.alter_column("evaluations", "benchmark", existing_type=sa.String(length=64), type_=sa.String(length=128))
    op.add_column("evaluations", sa.Column("split", SPLIT, nullable=False, server_default="test"))
    op.alter_column("evaluations", "split", server_default=None)
    for name in ("settings", "progress"):
        op.add_column("evaluations", sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                               server_default=sa.text("'{}'::jsonb")))
        op.alter_column("evaluations", name, server_default=None)
    op.add_column("evaluations", sa.Column("error", sa.Text(), nullable=True))
    op.add_column("evaluations", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("evaluations", sa.Column("idempotency_key", sa.String(length=255), nullable=True))
    op.add_column("evaluations", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("evaluations", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint("evaluations_idempotency_key_key", "evaluations", ["idempotency_key"])
    op.create_index("ix_evaluations_state_created", "evaluations", ["state", "created_at"], unique=False)

    op.create_table(
        "evaluation_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("evaluation_id", sa.UUID(), nullable=False),
        sa.Column("question_id", sa.UUID(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("predicted_index", sa.Integer(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("parse_error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("evaluation_id", "question_id", name="uq_evaluation_items_question"),
    )
    op.create_index("ix_evaluation_items_evaluation_id", "evaluation_items", ["evaluation_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_evaluation_items_evaluation_id", table_name="evaluation_items")
    op.drop_table("evaluation_items")
    op.drop_index("ix_evaluations_state_created", table_name="evaluations")
    op.drop_constraint("evaluations_idempotency_key_key", "evaluations", type_="unique")
    for column in ("finished_at", "started_at", "idempotency_key", "attempts", "error", "progress", "settings",
                   "split", "model_ref"):
        op.drop_column("evaluations", column)
    op.alter_column("evaluations", "benchmark", existing_type=sa.String(length=128), type_=sa.String(length=64))
    op.drop_index("uq_checkpoints_one_deployed", table_name="checkpoints")
    op.drop_column("checkpoints", "deployed_at")
    op.drop_constraint("ck_questions_answer", "questions", type_="check")
    op.drop_constraint("ck_questions_choice_count", "questions", type_="check")
    op.create_check_constraint("ck_questions_answer", "questions", "answer_index IS NULL OR answer_index BETWEEN 0 AND 3")
    op.create_check_constraint("ck_questions_four_choices", "questions", "jsonb_array_length(choices) = 4")
    op.drop_index("ix_questions_source", table_name="questions")
    op.drop_column("questions", "extra")
    op.drop_column("questions", "source_ref")
    op.alter_column("clips", "height", existing_type=sa.Integer(), nullable=False)
    op.alter_column("clips", "width", existing_type=sa.Integer(), nullable=False)
