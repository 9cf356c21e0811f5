"""evaluation robustness: items per rotation and silence; questions' audio contribution (weak / strong)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("evaluation_items", sa.Column("rotation", sa.SmallInteger(), nullable=False, server_default="0"))
    op.add_column("evaluation_items", sa.Column("silent", sa.Boolean(), nullable=False, server_default="false"))
    op.drop_constraint("uq_evaluation_items_question", "evaluation_items", type_="unique")
    op.create_unique_constraint("uq_evaluation_items_ask", "evaluation_items",
                                ["evaluation_id", "question_id", "rotation", "silent"])
    op.add_column("questions", sa.Column("audio_contribution", sa.String(8), nullable=True))
    op.add_column("questions", sa.Column("audio_contribution_evaluation_id", sa.UUID(), nullable=True))
    op.create_foreign_key("fk_questions_audio_contribution_eval", "questions", "evaluations",
                          ["audio_contribution_evaluation_id"], ["id"], ondelete="SET NULL")
    op.create_check_constraint("ck_questions_audio_contribution", "questions",
                               "audio_contribution IN ('weak', 'strong')")
    op.create_index("ix_questions_audio_contribution", "questions", ["audio_contribution"])


def downgrade() -> None:
    op.drop_index("ix_questions_audio_contribution", table_name="questions")
    op.drop_constraint("ck_questions_audio_contribution", "questions", type_="check")
    op.drop_constraint("fk_questions_audio_contribution_eval", "questions", type_="foreignkey")
    op.drop_column("questions", "audio_contribution_evaluation_id")
    op.drop_column("questions", "audio_contribution")
    # Only the items of the questions as given fit the old constraint.
    op.execute("DELETE FROM evaluation_items WHERE rotation <> 0 OR silent")
    op.drop_constraint("uq_evaluation_items_ask", "evaluation_items", type_="unique")
    op.create_unique_constraint("uq_evaluation_items_question", "evaluation_items", ["evaluation_id", "question_id"])
    op.drop_column("evaluation_items", "silent")
    op.drop_column("evaluation_items", "rotation")
