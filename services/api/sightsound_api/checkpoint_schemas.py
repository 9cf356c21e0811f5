"""Response models of the checkpoint routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sightsound.db.models import RunState


class CheckpointRunOut(BaseModel):
    """The training run a checkpoint comes from."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    dataset_id: uuid.UUID
    student_model: str
    stages: list[str]
    state: RunState


class CheckpointDetail(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b5c2f5e-0a5e-4c59-9d1a-3f1c2b7a9e10",
                    "model_ref": "checkpoint:0b5c2f5e-0a5e-4c59-9d1a-3f1c2b7a9e10",
                    "run_id": "9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                    "run": {"id": "9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                            "dataset_id": "4d0c7b5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
                            "student_model": "Qwen/Qwen2-Audio-7B-Instruct", "stages": ["sft", "grpo"],
                            "state": "succeeded"},
                    "stage": "grpo",
                    "step": 500,
                    "url": "file:///var/lib/sightsound/checkpoints/9a1b.../grpo/step-0000500",
                    "metrics": {"reward": 1.62, "accuracy": 0.71},
                    "deployed": True,
                    "deployed_at": "2026-11-26T12:00:00Z",
                    "folder_present": True,
                    "created_at": "2026-11-26T11:58:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    model_ref: str = Field(..., description="How to name this checkpoint in student requests.")
    run_id: uuid.UUID
    run: CheckpointRunOut
    stage: str
    step: int
    url: str
    metrics: dict[str, Any]
    deployed: bool
    deployed_at: datetime | None
    folder_present: bool = Field(..., description="Whether its folder is still there (only then can it be deployed).")
    created_at: datetime


class CheckpointPage(BaseModel):
    items: list[CheckpointDetail]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")
