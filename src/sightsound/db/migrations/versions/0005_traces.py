"""One word per thing: teacher_samples -> traces, sample_index -> trace_index, sample_id -> trace_id,
datasets.sample_ids -> trace_ids, jobs.samples_used -> traces_used (renames only; no data changes)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, old column, new column)
COLUMNS = [
    ("traces", "sample_index", "trace_index"),
    ("claims", "sample_id", "trace_id"),
    ("trace_decisions", "sample_id", "trace_id"),
    ("datasets", "sample_ids", "trace_ids"),
    ("jobs", "samples_used", "traces_used"),
]
#: (table, old constraint, new constraint)
CONSTRAINTS = [
    ("traces", "teacher_samples_pkey", "traces_pkey"),
    ("traces", "uq_samples_job_index", "uq_traces_job_index"),
    ("traces", "teacher_samples_job_id_fkey", "traces_job_id_fkey"),
    ("claims", "uq_claims_sample_index", "uq_claims_trace_index"),
    ("claims", "claims_sample_id_fkey", "claims_trace_id_fkey"),
    ("trace_decisions", "trace_decisions_sample_id_fkey", "trace_decisions_trace_id_fkey"),
    ("trace_decisions", "trace_decisions_sample_id_key", "trace_decisions_trace_id_key"),
]


def upgrade() -> None:
    op.rename_table("teacher_samples", "traces")
    for table, old, new in COLUMNS:
        op.alter_column(table, old, new_column_name=new)
    for table, old, new in CONSTRAINTS:
        op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{old}" TO "{new}"')
    op.execute("ALTER SEQUENCE teacher_samples_id_seq RENAME TO traces_id_seq")


def downgrade() -> None:
    op.execute("ALTER SEQUENCE traces_id_seq RENAME TO teacher_samples_id_seq")
    for table, old, new in reversed(CONSTRAINTS):
        op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{new}" TO "{old}"')
    for table, old, new in reversed(COLUMNS):
        op.alter_column(table, new, new_column_name=old)
    op.rename_table("traces", "teacher_samples")
