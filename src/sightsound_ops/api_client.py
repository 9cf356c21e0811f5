"""A small client of SightSound's public API, for the CLI and the main job.

Responses are the API's JSON (``dict``); an error response raises :class:`ApiError` carrying the status
and the problem's ``detail``, which the CLI prints as is (it says what to fix).
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import httpx

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int | None, detail: str, method: str = "", path: str = "") -> None:
        where = f"{method} {path} -> " if method else ""
        super().__init__(f"{where}{status or 'no response'}: {detail}")
        self.status = status
        self.detail = detail


#: How many times a request refused with 429 is sent again (after the server's ``Retry-After``).
RATE_LIMIT_RETRIES = 5
MAX_RETRY_AFTER_S = 60.0


def _retry_after_s(response: httpx.Response) -> float:
    """The seconds a 429 says to wait (``Retry-After``), 1 when it does not say, at most :data:`MAX_RETRY_AFTER_S`.

    >>> _retry_after_s(httpx.Response(429, headers={"Retry-After": "7"}))
    7.0
    >>> _retry_after_s(httpx.Response(429))
    1.0
    """
    try:
        seconds = float(response.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        if "detail" in body:
            detail = body["detail"]
            return detail if isinstance(detail, str) else json.dumps(detail)
        if isinstance(body.get("error"), dict):
            return str(body["error"].get("message"))
    return str(body)[:500]


class ApiClient:
    def __init__(self, base_url: str, timeout_s: float = 120.0, transport: httpx.BaseTransport | None = None, *,
                 api_key: str | None = None):
        """``api_key``: sent as ``Authorization: Bearer`` (the CLI's ``--api-key`` or ``SIGHTSOUND_API_KEY``)."""
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport, headers=headers)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a 429 (the key's rate limit, or a busy student) is sent again after its ``Retry-After``
        (at most :data:`RATE_LIMIT_RETRIES` times, each wait capped at :data:`MAX_RETRY_AFTER_S`): the request
        was not served, so sending it again is safe."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise ApiError(None, f"cannot reach the API at {self.base_url}: {exc}", method, path) from exc
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                break
            time.sleep(_retry_after_s(response))
            for part in (kwargs.get("files") or {}).values():  # an upload's file is read again from its start
                if isinstance(part, tuple) and hasattr(part[1], "seek"):
                    part[1].seek(0)
        if response.status_code >= 400:
            detail = _detail(response)
            if response.status_code == 401:
                detail += " (the CLI sends --api-key or SIGHTSOUND_API_KEY)"
            raise ApiError(response.status_code, detail, method, path)
        return response

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def post(self, path: str, body: Json | None = None, headers: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, json=body, headers=headers).json()

    # --- clips and jobs ---------------------------------------------------------------------------

    def submit_clip(self, video: Path, question: str, choices: Sequence[str], *, answer_index: int | None = None,
                    category: str | None = None, split: str = "train", source: str | None = None) -> Json:
        data: dict[str, str] = {"question": question, "choices": json.dumps(list(choices)), "split": split}
        if answer_index is not None:
            data["answer_index"] = str(answer_index)
        if category:
            data["category"] = category
        if source:
            data["source"] = source
        with video.open("rb") as fh:
            files = {"video": (video.name, fh, mimetypes.guess_type(video.name)[0] or "video/mp4")}
            response = self.request("POST", "/v1/clips", data=data, files=files)
        job: Json = response.json()
        return job

    def job(self, job_id: str) -> Json:
        found: Json = self.get(f"/v1/jobs/{job_id}")
        return found

    # --- datasets, runs, checkpoints -----------------------------------------------------------------

    def create_dataset(self, name: str, variant: str, filters: Json) -> Json:
        created: Json = self.post("/v1/datasets", {"name": name, "variant": variant, "filters": filters})
        return created

    def create_run(self, dataset_id: str, student_model: str, stages: Sequence[str], hyperparameters: Json) -> Json:
        created: Json = self.post("/v1/training-runs", {"dataset_id": dataset_id, "student_model": student_model,
                                                         "stages": list(stages), "hyperparameters": hyperparameters})
        return created

    def run(self, run_id: str) -> Json:
        found: Json = self.get(f"/v1/training-runs/{run_id}")
        return found

    def checkpoints(self, run_id: str | None = None) -> list[Json]:
        page = self.get("/v1/checkpoints", run_id=run_id, limit=100)
        items: list[Json] = page["items"] if isinstance(page, dict) else page
        return items

    def deploy(self, checkpoint_id: str) -> Json:
        deployed: Json = self.post(f"/v1/checkpoints/{checkpoint_id}/deploy")
        return deployed

    # --- evaluations and stats --------------------------------------------------------------------

    def create_evaluation(self, model: str, benchmark: str, *, label: str | None = None, split: str = "test",
                          max_new_tokens: int | None = None, choice_rotations: bool = False,
                          silent_audio: bool = False, label_audio_contribution: bool = False) -> Json:
        body: Json = {"model": model, "benchmark": benchmark, "split": split}
        for name, wanted in (("choice_rotations", choice_rotations), ("silent_audio", silent_audio),
                             ("label_audio_contribution", label_audio_contribution)):
            if wanted:
                body[name] = True
        if label:
            body["label"] = label
        if max_new_tokens:
            body["max_new_tokens"] = max_new_tokens
        created: Json = self.post("/v1/evaluations", body)
        return created

    def evaluation(self, evaluation_id: str) -> Json:
        found: Json = self.get(f"/v1/evaluations/{evaluation_id}")
        return found

    def compare(self, evaluation_ids: Sequence[str], fmt: str = "json") -> Any:
        response = self.request("GET", "/v1/evaluations/compare",
                                params={"ids": ",".join(evaluation_ids), "format": fmt})
        return response.text if fmt == "markdown" else response.json()

    def stats(self, source: str | None = None) -> Json:
        found: Json = self.get("/v1/stats", source=source)
        return found

    # --- the student ------------------------------------------------------------------------------

    def ask(self, media: Path, question: str, choices: Sequence[str] | None = None, model: str | None = None,
            max_new_tokens: int | None = None) -> Json:
        data: dict[str, str] = {"question": question}
        if choices:
            data["choices"] = json.dumps(list(choices))
        if model:
            data["model"] = model
        if max_new_tokens:
            data["max_new_tokens"] = str(max_new_tokens)
        with media.open("rb") as fh:
            files = {"file": (media.name, fh, mimetypes.guess_type(media.name)[0] or "application/octet-stream")}
            response = self.request("POST", "/v1/student/answer", data=data, files=files)
        answer: Json = response.json()
        return answer
