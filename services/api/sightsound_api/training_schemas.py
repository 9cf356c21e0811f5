"""Response models of the dataset and training-run routes (requests are the shared contracts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sightsound.db.models import RunState

_ORM = ConfigDict(from_attributes=True)


class DatasetOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "4d0c7b5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
                    "name": "sound-cot",
                    "version": 3,
                    "variant": "cot",
                    "filters": {"split": "train", "min_agreement": 1.0},
                    "counts": {"records": 1200, "traces": 1200, "questions": 310, "clips": 300},
                    "provenance": {
                        "teacher_models": ["Qwen/Qwen2.5-VL-32B-Instruct"],
                        "prompt_versions": ["audio-cot-v1"],
                        "verifier_policies": ["contradiction>=0.60"],
                        "student_prompt_version": "student-v1",
                    },
                    "export_url": "file:///var/lib/sightsound/datasets/sound-cot/v3",
                    "jsonl_url": "file:///var/lib/sightsound/datasets/sound-cot/v3/data.jsonl",
                    "hf_dataset_url": "file:///var/lib/sightsound/datasets/sound-cot/v3/hf",
                    "created_at": "2026-11-26T10:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    name: str
    version: int
    variant: str
    filters: dict[str, Any]
    counts: dict[str, Any]
    provenance: dict[str, Any]
    export_url: str | None
    jsonl_url: str | None = Field(None, description="The records, one JSON object per line.")
    hf_dataset_url: str | None = Field(None, description="The records as a `datasets.load_from_disk` folder.")
    created_at: datetime


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")


class CheckpointOut(BaseModel):
    model_config = _ORM
    id: uuid.UUID
    stage: str
    step: int
    url: str
    metrics: dict[str, Any]
    deployed: bool
    created_at: datetime


class TrainingRunOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                    "dataset_id": "4d0c7b5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
                    "student_model": "Qwen/Qwen2-Audio-7B-Instruct",
                    "stages": ["sft", "grpo"],
                    "hyperparameters": {"seed": 0, "lora": {"rank": 64}},
                    "state": "running",
                    "progress": {"stage": "grpo", "step": 120, "total_steps": 500, "reward": 1.62,
                                 "accuracy": 0.71, "kl": 0.012, "eta_s": 5400.0},
                    "error": None,
                    "cancel_requested": False,
                    "attempts": 1,
                    "output_url": "file:///var/lib/sightsound/runs/9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                    "checkpoints": [],
                    "created_at": "2026-11-26T10:00:00Z",
                    "updated_at": "2026-11-26T11:30:00Z",
                    "started_at": "2026-11-26T10:00:02Z",
                    "finished_at": None,
                }
            ]
        },
    )

    id: uuid.UUID
    dataset_id: uuid.UUID
    student_model: str
    stages: list[str]
    hyperparameters: dict[str, Any]
    state: RunState
    progress: dict[str, Any] = Field(
        description="Stage, step of total, loss, reward, accuracy, KL, ETA and a thinned history of steps."
    )
    error: str | None
    cancel_requested: bool
    attempts: int
    output_url: str | None
    checkpoints: list[CheckpointOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class TrainingRunPage(BaseModel):
    items: list[TrainingRunOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")
