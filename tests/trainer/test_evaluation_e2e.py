"""Evaluations through real processes: the uvicorn API, a Celery trainer worker on ``train,evaluate``,
PostgreSQL and Redis.

Two models answer a generated benchmark (tone and noise clips, test split, two categories, plus one question
whose audio file is missing): ``base:tiny-random`` and a LoRA checkpoint of it. Both are the tiny student
with RANDOM weights, so the accuracies mean nothing; what is checked is the machinery: per-category results
stored, one item per question, the unreadable question recorded as not asked without failing the rest, a
second delivery of the same task writing nothing, a restarted evaluation answering only what was missing,
the Markdown report and the comparison table.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from sqlalchemy import delete, func, select, update

from sightsound.config import Settings
from sightsound.contracts.evaluation import NOT_ASKED
from sightsound.contracts.training import LoRASettings
from sightsound.db.models import Evaluation, EvaluationItem, RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound.tasks.dispatch import Dispatcher
from sightsound_ops.stack import ServiceProcess, free_port, trainer_worker_process
from sightsound_student_model.checkpoints import CheckpointInfo, save_checkpoint
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import add_lora
from tests.conftest import TEST_SERVICE_TOKEN
from tests.trainer.evaluation_bench import BenchQuestion, insert_benchmark, insert_checkpoint, two_categories

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class EvalStack:
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))  # sends the API key (fixture)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        api = ServiceProcess("api", [sys.executable, "-m", "sightsound_api", "--host", "127.0.0.1", "--port",
                                     str(self.port)], f"{self.api_url}/readyz", self.log_dir / "api.log")
        api.start(self.env)
        self.processes["api"] = api
        trainer = trainer_worker_process(self.log_dir)
        trainer.start(self.env)
        self.processes["trainer"] = trainer
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert api.alive(), api.log_tail()
            try:
                if httpx.get(f"{self.api_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(api.log_tail())

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(40)}" for p in self.processes.values())


@pytest.fixture(scope="module")
def stack(api_key: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvalStack]:
    # Work other tests left queued (they had no worker) must not be taken by this worker when it starts.
    with session_scope(settings.database_url) as session:
        for table in (TrainingRun, Evaluation):
            session.execute(update(table).where(table.state.in_([RunState.queued, RunState.running]))
                            .values(state=RunState.cancelled))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    env.update({
        "SIGHTSOUND_ENVIRONMENT": "test",
        "SIGHTSOUND_DATABASE_URL": settings.database_url,
        "SIGHTSOUND_REDIS_URL": settings.redis_url,
        "SIGHTSOUND_MEDIA_ROOT": str(settings.media_root),
        "SIGHTSOUND_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
        "SIGHTSOUND_STUDENT_BASE_MODELS": '["tiny-random"]',
        "SIGHTSOUND_STUDENT_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    running = EvalStack(env, tmp_path_factory.mktemp("eval-logs"))
    running.http.headers["Authorization"] = f"Bearer {api_key}"
    try:
        running.start()
        yield running
    finally:
        running.stop()
    assert not any(p.alive() for p in running.processes.values())


@pytest.fixture(scope="module")
def checkpoint_id(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> uuid.UUID:
    """A LoRA checkpoint of the tiny RANDOM student, its adapters moved off their initial values."""
    student = load_student("tiny-random")
    torch.manual_seed(5)
    student.model = add_lora(student.model, LoRASettings(rank=4, alpha=8))
    with torch.no_grad():
        for param in student.model.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn_like(param))
    folder = tmp_path_factory.mktemp("eval-ckpt") / "sft" / "step-0000001"
    save_checkpoint(folder, student, CheckpointInfo(stage="sft", step=1, total_steps=1, complete=True,
                                                    base_model="tiny-random"), None, None)
    with session_scope(settings.database_url) as session:
        return insert_checkpoint(session, folder)


@pytest.fixture(scope="module")
def benchmark(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = f"unit-bench-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("eval-audio")
    questions = [*two_categories(folder, per_category=3),
                 BenchQuestion("noise", folder / "deleted.wav", 1)]  # its audio file does not exist
    with session_scope(settings.database_url) as session:
        insert_benchmark(session, name, questions)
    return name


def wait(stack: EvalStack, evaluation_id: str, timeout_s: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = stack.http.get(f"{stack.api_url}/v1/evaluations/{evaluation_id}", timeout=10).json()
        if body["state"] in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"evaluation {evaluation_id} stuck: {body.get('state')} {body.get('progress')}\n"
                         f"{stack.logs()}")


def item_counts(settings: Settings, evaluation_id: str) -> tuple[int, int]:
    with session_scope(settings.database_url) as session:
        where = EvaluationItem.evaluation_id == uuid.UUID(evaluation_id)
        rows = session.scalar(select(func.count()).select_from(EvaluationItem).where(where))
        questions = session.scalar(select(func.count(func.distinct(EvaluationItem.question_id))).where(where))
    return int(rows or 0), int(questions or 0)


def test_two_models_are_evaluated_compared_and_a_redelivery_writes_nothing(
    stack: EvalStack, settings: Settings, benchmark: str, checkpoint_id: uuid.UUID
) -> None:
    ids = {}
    for label, model in (("base", "base:tiny-random"), ("CoT SFT", f"checkpoint:{checkpoint_id}")):
        response = stack.http.post(f"{stack.api_url}/v1/evaluations", timeout=30, json={
            "model": model, "label": label, "benchmark": benchmark, "max_new_tokens": 8, "batch_size": 4})
        assert response.status_code == 202, response.text
        ids[label] = response.json()["id"]

    for label, evaluation_id in ids.items():
        done = wait(stack, evaluation_id)
        assert done["state"] == "succeeded", (label, done["error"], stack.logs())
        results = done["results"]
        assert results["overall"]["n"] == 7 and results["overall"]["errors"] == 1
        assert {k: v["n"] for k, v in results["per_category"].items()} == {"noise": 4, "tones": 3}
        assert sum(results["answer_reading"].values()) == 7 and results["answer_reading"]["none"] >= 1
        assert results["mean_latency_ms"] > 0 and results["skipped"]["n"] == 0
        assert done["progress"]["done"] == done["progress"]["total"] == 7 and done["attempts"] == 1
        assert item_counts(settings, evaluation_id) == (7, 7)
        items = stack.http.get(f"{stack.api_url}/v1/evaluations/{evaluation_id}/items", timeout=10).json()["items"]
        missing = [i for i in items if i["parse_error"] and i["parse_error"].startswith(NOT_ASKED)]
        assert len(missing) == 1 and "audio could not be read" in missing[0]["parse_error"]
        assert all(i["output"] for i in items if i not in missing)  # the random student said something

    report = stack.http.get(f"{stack.api_url}/v1/evaluations/{ids['CoT SFT']}/report",
                       params={"format": "markdown"}, timeout=10)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/markdown")
    assert "| noise | 4 |" in report.text and "| tones | 3 |" in report.text
    assert f"`checkpoint:{checkpoint_id}`" in report.text

    compared = stack.http.get(f"{stack.api_url}/v1/evaluations/compare", timeout=10,
                         params={"ids": f"{ids['base']},{ids['CoT SFT']}"}).json()
    assert [c["label"] for c in compared["columns"]] == ["base", "CoT SFT"]
    assert [r["name"] for r in compared["rows"]] == ["overall", "noise", "tones"]
    markdown = stack.http.get(f"{stack.api_url}/v1/evaluations/compare", timeout=10,
                         params={"ids": f"{ids['base']},{ids['CoT SFT']}", "format": "markdown"}).text
    lines = markdown.splitlines()
    assert lines[0].startswith("Lenient accuracy") and lines[2] == "| category | base | CoT SFT |"
    strict = next(i for i, line in enumerate(lines) if line.startswith("Strict accuracy"))
    assert "| category | base | CoT SFT |" in lines[strict:]

    # A second delivery of the same task (Redis redelivers an unacknowledged message) does nothing.
    base_id = ids["base"]
    before = wait(stack, base_id)
    Dispatcher(settings).send_evaluation(base_id)
    deadline = time.monotonic() + 120
    while f"skip evaluation {base_id}" not in stack.processes["trainer"].log_tail(400):
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.3)
    assert item_counts(settings, base_id) == (7, 7)
    assert wait(stack, base_id) == before

    # A worker that died mid-way leaves it running with questions unanswered: sent again, it answers only those.
    with session_scope(settings.database_url) as session:
        lost = list(session.scalars(select(EvaluationItem.id).where(
            EvaluationItem.evaluation_id == uuid.UUID(base_id)).order_by(EvaluationItem.id.desc()).limit(2)))
        session.execute(delete(EvaluationItem).where(EvaluationItem.id.in_(lost)))
        session.execute(update(Evaluation).where(Evaluation.id == uuid.UUID(base_id))
                        .values(state=RunState.running, results={}))
    Dispatcher(settings).send_evaluation(base_id)
    again = wait(stack, base_id)
    assert again["state"] == "succeeded" and again["attempts"] == 2
    assert item_counts(settings, base_id) == (7, 7)
    # Greedy decoding, and batching does not change greedy answers: the same results again.
    assert again["results"] == before["results"] | {"mean_latency_ms": again["results"]["mean_latency_ms"]}


def test_rotations_and_silent_audio_through_the_api_and_the_worker(
    stack: EvalStack, settings: Settings, benchmark: str
) -> None:
    """The tiny RANDOM student asked every question under each rotation and once with silence, through the API
    and a trainer worker: its report shows the consistency and the answerable-without-audio share."""
    response = stack.http.post(f"{stack.api_url}/v1/evaluations", timeout=30, json={
        "model": "base:tiny-random", "label": "shortcuts", "benchmark": benchmark, "max_new_tokens": 8,
        "batch_size": 8, "choice_rotations": True, "silent_audio": True, "label_audio_contribution": True})
    assert response.status_code == 202, response.text
    evaluation_id = response.json()["id"]
    assert response.json()["progress"]["total"] == 7 * 4 + 7
    done = wait(stack, evaluation_id)
    assert done["state"] == "succeeded", (done["error"], stack.logs())
    results = done["results"]
    assert results["overall"]["n"] == 7 and item_counts(settings, evaluation_id) == (35, 7)
    assert results["rotations"]["questions"] == 7 and results["rotations"]["items"]["n"] == 28
    contribution = results["audio_contribution"]
    # The question whose audio file is missing cannot be asked with silence either (its length is unknown).
    assert contribution["questions"] == 6 and contribution["not_asked"] == 1 and contribution["labelled"] == 6
    report = stack.http.get(f"{stack.api_url}/v1/evaluations/{evaluation_id}/report",
                            params={"format": "markdown"}, timeout=10).text
    consistent = results["rotations"]["consistent"]
    assert f"answered consistently** (same choice under every rotation) | {100 * consistent['accuracy']:.1f}% " \
           f"({consistent['correct']}/7)" in report
    without = contribution["without_audio"]
    assert f"answerable without audio** (right with silence), lenient | {100 * without['accuracy']:.1f}% " \
           f"({without['correct']}/6)" in report
    silent = stack.http.get(f"{stack.api_url}/v1/evaluations/{evaluation_id}/items",
                            params={"silent": True}, timeout=10).json()["items"]
    assert len(silent) == 7 and all(i["silent"] and i["rotation"] == 0 for i in silent)
