"""``GET /v1/models``: what a client may name, read from PostgreSQL on every call.

The alias ``sightsound-student`` is listed while a checkpoint is deployed (its ``root`` says which one),
then every recorded checkpoint as ``checkpoint:<id>`` (newest first; ``parent`` is its base student), then
the base students this server may load (``base:<name>``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sightsound.db.models import Checkpoint, TrainingRun
from sightsound.registry import OPENAI_ALIAS
from sightsound_student.openai_protocol import ModelCard, ModelList


def model_list(session: Session, base_models: list[str]) -> ModelList:
    rows = session.execute(
        select(Checkpoint, TrainingRun.student_model)
        .join(TrainingRun, TrainingRun.id == Checkpoint.run_id)
        .order_by(Checkpoint.created_at.desc(), Checkpoint.id.desc())
    ).all()
    cards: list[ModelCard] = []
    for checkpoint, base in rows:
        if checkpoint.deployed:
            when = checkpoint.deployed_at or checkpoint.created_at
            cards.append(ModelCard(id=OPENAI_ALIAS, created=int(when.timestamp()), root=f"checkpoint:{checkpoint.id}",
                                   parent=base))
    for checkpoint, base in rows:
        cards.append(ModelCard(id=f"checkpoint:{checkpoint.id}", created=int(checkpoint.created_at.timestamp()),
                               root=f"checkpoint:{checkpoint.id}", parent=base))
    cards += [ModelCard(id=f"base:{name}", root=f"base:{name}") for name in base_models]
    return ModelList(data=cards)
