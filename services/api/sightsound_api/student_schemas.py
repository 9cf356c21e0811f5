"""Response model of ``POST /v1/student/answer``: the student's answer plus where its audio was stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sightsound.contracts.student import StudentAnswerResponse


class StoredAudioOut(BaseModel):
    url: str = Field(..., description="The 16 kHz mono WAV in the media store (content-addressed).")
    duration_s: float


class StudentUploadAnswer(StudentAnswerResponse):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **StudentAnswerResponse.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index,dict-item]
                    "audio": {"url": "file:///var/lib/sightsound/media/audio/ab/abcd...-16000.wav", "duration_s": 3.2},
                }
            ]
        }
    )

    audio: StoredAudioOut
