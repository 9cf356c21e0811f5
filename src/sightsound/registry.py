"""The student model registry: what a model name in a request means.

A request names a model by one of

- ``deployed`` (or ``sightsound-student``, the OpenAI-style alias, or no name at all): the checkpoint
  marked deployed in PostgreSQL (at most one is, by a partial unique index);
- ``checkpoint:<uuid>`` or a bare checkpoint ``<uuid>``: that checkpoint;
- ``base:<name>``: the untrained student ``<name>`` (``embedded``, ``tiny-random``, a local folder, a hub id);
  only names in the settings' ``student_base_models`` are served, so a request cannot make a server load
  an arbitrary path;
- ``teacher``: the vision teacher (evaluations only; it answers from frames, not audio).

:func:`parse_model_ref` is pure; :func:`resolve_model` reads PostgreSQL. Because every request resolves
``deployed`` again, deploying another checkpoint takes effect on the next request, with no restart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sightsound.db.models import Checkpoint, Dataset, TrainingRun

DEPLOYED = "deployed"
OPENAI_ALIAS = "sightsound-student"
TEACHER = "teacher"
RefKind = Literal["deployed", "checkpoint", "base", "teacher"]


class UnknownModel(LookupError):
    """The name is well formed but names nothing servable; the message says what exists."""


class BadModelName(ValueError):
    """The name is not a model reference at all."""


@dataclass(frozen=True)
class ModelRef:
    kind: RefKind
    name: str = ""  # the checkpoint id or the base model name

    def __str__(self) -> str:
        return self.kind if self.kind in (DEPLOYED, TEACHER) else f"{self.kind}:{self.name}"


def parse_model_ref(text: str | None) -> ModelRef:
    """The reference a model name spells.

    >>> str(parse_model_ref(None)), str(parse_model_ref("sightsound-student"))
    ('deployed', 'deployed')
    >>> str(parse_model_ref("base:embedded"))
    'base:embedded'
    >>> parse_model_ref("0b5c2f5e-0a5e-4c59-9d1a-3f1c2b7a9e10").kind
    'checkpoint'
    >>> parse_model_ref("checkpoint:nope")
    Traceback (most recent call last):
    ...
    sightsound.registry.BadModelName: 'nope' is not a checkpoint id (a UUID)
    """
    text = (text or "").strip()
    if text in ("", DEPLOYED, OPENAI_ALIAS):
        return ModelRef("deployed")
    if text == TEACHER:
        return ModelRef("teacher")
    kind, sep, name = text.partition(":")
    if sep and kind == "base":
        if not name.strip():
            raise BadModelName("base: needs a student model name, e.g. base:embedded")
        return ModelRef("base", name.strip())
    candidate = name if sep and kind == "checkpoint" else text
    try:
        return ModelRef("checkpoint", str(uuid.UUID(candidate)))
    except ValueError:
        if sep and kind == "checkpoint":
            raise BadModelName(f"{candidate!r} is not a checkpoint id (a UUID)") from None
        raise BadModelName(
            f"{text!r} is not a model name: use 'deployed', 'checkpoint:<id>', 'base:<name>' or 'teacher'"
        ) from None


@dataclass(frozen=True)
class ResolvedModel:
    """A servable student: where its weights are and how it was trained to be asked."""

    ref: str  # canonical: checkpoint:<uuid> or base:<name>
    checkpoint_id: uuid.UUID | None
    folder: Path | None  # the checkpoint folder; None for a base model
    base_model: str
    variant: str  # its training dataset's variant (sightsound.contracts.training.DatasetVariant): the prompt
    run_id: uuid.UUID | None = None
    stage: str | None = None
    step: int | None = None


def url_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path)) if "://" in url else Path(url)


def _resolve_checkpoint(session: Session, checkpoint: Checkpoint) -> ResolvedModel:
    run = session.get_one(TrainingRun, checkpoint.run_id)
    dataset = session.get(Dataset, run.dataset_id)
    folder = url_path(checkpoint.url)
    if not (folder / "checkpoint.json").exists():
        raise UnknownModel(f"checkpoint {checkpoint.id} is recorded but its folder {folder} is gone")
    return ResolvedModel(
        ref=f"checkpoint:{checkpoint.id}",
        checkpoint_id=checkpoint.id,
        folder=folder,
        base_model=run.student_model,
        variant=dataset.variant if dataset is not None else "cot",
        run_id=run.id,
        stage=checkpoint.stage,
        step=checkpoint.step,
    )


def resolve_model(session: Session, ref: ModelRef, base_models: list[str]) -> ResolvedModel:
    """The student ``ref`` names now; raises :class:`UnknownModel` with what to do instead."""
    if ref.kind == "teacher":
        raise UnknownModel("the teacher answers from frames and is evaluated, not served as a student")
    if ref.kind == "base":
        if ref.name not in base_models:
            raise UnknownModel(f"base model {ref.name!r} is not served here; served: "
                               + ", ".join(f"base:{b}" for b in base_models))
        return ResolvedModel(ref=f"base:{ref.name}", checkpoint_id=None, folder=None, base_model=ref.name,
                             variant="cot")
    if ref.kind == "deployed":
        deployed = session.scalars(select(Checkpoint).where(Checkpoint.deployed)).first()
        if deployed is None:
            raise UnknownModel("no checkpoint is deployed: deploy one with POST /v1/checkpoints/{id}/deploy, "
                               "or name a model (checkpoint:<id> or base:<name>)")
        return _resolve_checkpoint(session, deployed)
    checkpoint = session.get(Checkpoint, uuid.UUID(ref.name))
    if checkpoint is None:
        raise UnknownModel(f"no checkpoint {ref.name}")
    return _resolve_checkpoint(session, checkpoint)


def deploy_checkpoint(session: Session, checkpoint_id: uuid.UUID) -> Checkpoint:
    """Mark ``checkpoint_id`` deployed and every other checkpoint not (one transaction: the caller commits)."""
    checkpoint = session.get(Checkpoint, checkpoint_id, with_for_update=True)
    if checkpoint is None:
        raise UnknownModel(f"no checkpoint {checkpoint_id}")
    folder = url_path(checkpoint.url)
    if not (folder / "checkpoint.json").exists():
        raise UnknownModel(f"checkpoint {checkpoint_id} cannot be deployed: its folder {folder} is gone")
    session.execute(
        update(Checkpoint).where(Checkpoint.deployed, Checkpoint.id != checkpoint_id).values(deployed=False)
    )
    session.flush()
    checkpoint.deployed = True
    checkpoint.deployed_at = datetime.now(UTC)
    session.flush()
    return checkpoint
