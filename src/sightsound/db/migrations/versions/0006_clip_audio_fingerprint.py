"""clips.audio_fingerprint: a coarse band-energy signature of the 16 kHz audio (sightsound.media.fingerprint),
computed when a snapshot first needs it, so a re-encoded copy of a held-out clip is kept out of training

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clips", sa.Column("audio_fingerprint", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("clips", "audio_fingerprint")
