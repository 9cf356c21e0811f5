"""Evaluations through the API in-process (real PostgreSQL and Redis, no worker): validation with clear
problems, 202 + Location + Idempotency-Key, lists, items, reports and comparisons of stored results."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from sightsound.config import Settings
from sightsound.contracts.evaluation import EVALUATE_QUEUE, EVALUATE_TASK, NOT_ASKED
from sightsound.db.models import Checkpoint, Evaluation, EvaluationItem, RunState, Split
from sightsound.db.session import session_scope
from sightsound.evaluation import ItemOutcome, summarize
from sightsound_api.main import create_app
from tests.trainer.evaluation_bench import BenchQuestion, insert_benchmark, insert_checkpoint, two_categories


@dataclass(frozen=True)
class Bench:
    name: str  # the question source
    audio_only: str  # a benchmark whose clips have no frames (the teacher cannot be asked)
    question_ids: list[uuid.UUID]
    checkpoint_id: uuid.UUID
    gone_checkpoint_id: uuid.UUID


@pytest.fixture(scope="module")
def bench(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Bench:
    name = f"api-bench-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("eval-api")
    questions = two_categories(folder / "audio", per_category=2)
    questions.append(BenchQuestion("tones", questions[0].audio, 0, split=Split.train))  # another split
    questions.append(BenchQuestion("noise", questions[1].audio, 1, choices=("Yes", "No")))  # 2 choices
    ckpt = folder / "ckpt"
    ckpt.mkdir()
    (ckpt / "checkpoint.json").write_text("{}")  # the registry only checks that the folder holds one
    with session_scope(settings.database_url) as session:
        ids = insert_benchmark(session, name, questions)
        insert_benchmark(session, name + "-audio", [BenchQuestion("tones", questions[0].audio, 0, frames=False)])
        checkpoint_id = insert_checkpoint(session, ckpt)
        gone = insert_checkpoint(session, folder / "deleted")
    return Bench(name, name + "-audio", ids, checkpoint_id, gone)


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], settings: Settings) -> Iterator[TestClient]:
    local = settings.model_copy(update={"student_base_models": ["tiny-random"], "student_max_new_tokens": 64})
    with TestClient(create_app(local), headers=auth_headers) as test_client:
        yield test_client
    # No worker ran here: leave no queued evaluation or message for the end-to-end tests' workers to take.
    with session_scope(settings.database_url) as session:
        session.execute(update(Evaluation).where(Evaluation.state.in_([RunState.queued, RunState.running]))
                        .values(state=RunState.cancelled))
    redis.Redis.from_url(settings.redis_url).delete(EVALUATE_QUEUE)


def problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def test_an_evaluation_is_queued_with_202_location_and_a_message_on_the_evaluate_queue(
    client: TestClient, settings: Settings, bench: Bench
) -> None:
    queue = redis.Redis.from_url(settings.redis_url)
    before = queue.llen(EVALUATE_QUEUE)
    response = client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": bench.name,
                                                    "categories": ["tones"], "batch_size": 2})
    assert response.status_code == 202, response.text
    evaluation = response.json()
    assert response.headers["location"] == f"/v1/evaluations/{evaluation['id']}"
    assert evaluation["state"] == "queued" and evaluation["results"] is None
    assert evaluation["model_ref"] == evaluation["model_label"] == "base:tiny-random"
    assert evaluation["checkpoint_id"] is None and evaluation["split"] == "test"
    assert evaluation["progress"] == {"done": 0, "total": 2, "eta_s": None}  # 2 tone test questions
    assert evaluation["settings"]["max_new_tokens"] == 64 and evaluation["settings"]["batch_size"] == 2
    assert evaluation["settings"]["temperature"] == 0.0
    assert queue.llen(EVALUATE_QUEUE) == before + 1
    message = json.loads(queue.lindex(EVALUATE_QUEUE, 0) or b"{}")
    assert message["headers"]["task"] == EVALUATE_TASK
    assert evaluation["id"] in message["headers"]["argsrepr"]
    assert client.get(f"/v1/evaluations/{evaluation['id']}").json() == evaluation


def test_a_checkpoint_and_the_deployed_one_are_recorded_by_id(
    client: TestClient, settings: Settings, bench: Bench
) -> None:
    ref = f"checkpoint:{bench.checkpoint_id}"
    by_ref = client.post("/v1/evaluations", json={"model": ref, "label": "CoT SFT", "benchmark": bench.name,
                                                  "limit": 3}).json()
    assert by_ref["model_ref"] == ref and by_ref["checkpoint_id"] == str(bench.checkpoint_id)
    assert by_ref["model_label"] == "CoT SFT" and by_ref["progress"]["total"] == 3
    bare = client.post("/v1/evaluations", json={"model": str(bench.checkpoint_id), "benchmark": bench.name}).json()
    assert bare["model_ref"] == ref and bare["progress"]["total"] == 5

    problem(client.post("/v1/evaluations", json={"model": "deployed", "benchmark": bench.name}), 422,
            "no checkpoint is deployed")
    with session_scope(settings.database_url) as session:
        session.execute(update(Checkpoint).where(Checkpoint.id == bench.checkpoint_id).values(deployed=True))
    try:
        deployed = client.post("/v1/evaluations", json={"model": "deployed", "benchmark": bench.name}).json()
        assert deployed["model_ref"] == ref and deployed["checkpoint_id"] == str(bench.checkpoint_id)
    finally:
        with session_scope(settings.database_url) as session:
            session.execute(update(Checkpoint).where(Checkpoint.id == bench.checkpoint_id).values(deployed=False))


def test_models_that_cannot_be_evaluated_are_422_saying_why(client: TestClient, bench: Bench) -> None:
    def post(model: str) -> Any:
        return client.post("/v1/evaluations", json={"model": model, "benchmark": bench.name})

    assert problem(post("gpt-5"), 422, "not a model name", "base:<name>")["type"].endswith("/bad-model-name")
    problem(post("checkpoint:nope"), 422, "not a checkpoint id")
    problem(post("base:"), 422, "needs a student model name")
    missing = uuid.uuid4()
    assert problem(post(f"checkpoint:{missing}"), 422, f"no checkpoint {missing}")["type"].endswith(
        "/model-not-found")
    problem(post(f"checkpoint:{bench.gone_checkpoint_id}"), 422, "folder", "is gone")
    not_served = problem(post("base:embedded"), 422, "'embedded' is not served", "base:tiny-random")
    assert not_served["type"].endswith("/base-model-not-served")
    problem(post("base:/etc"), 422, "not served")


def test_a_benchmark_without_questions_is_422_listing_the_benchmarks_that_exist(
    client: TestClient, bench: Bench
) -> None:
    body = problem(client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": "no-such-bench"}),
                   422, "no test questions with a gold answer in 'no-such-bench'", f"{bench.name} (test: 5)",
                   f"{bench.name} (train: 1)")
    assert body["type"].endswith("/no-questions")
    problem(client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": bench.name,
                                                 "split": "validation"}), 422, "no validation questions")
    problem(client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": bench.name,
                                                 "categories": ["tones", "birdsong"]}),
            422, "birdsong not in benchmark", "its categories: noise, tones")


@pytest.mark.parametrize("extra, words", [
    ({"limit": 0}, ["limit"]),
    ({"limit": 100_001}, ["limit"]),
    ({"batch_size": 0}, ["batch_size"]),
    ({"batch_size": 257}, ["batch_size"]),
    ({"max_new_tokens": 65}, ["max_new_tokens", "at most 64"]),
    ({"split": "dev"}, ["split"]),
    ({"categories": []}, ["categories"]),
    ({"temperature": 1.0}, ["temperature", "Extra inputs"]),
    ({"benchmark": ""}, ["benchmark"]),
])
def test_ranges_and_unknown_fields_are_422(client: TestClient, bench: Bench, extra: dict[str, Any],
                                           words: list[str]) -> None:
    body = {"model": "base:tiny-random", "benchmark": bench.name, **extra}
    problem(client.post("/v1/evaluations", json=body), 422, *words)


def test_the_teacher_needs_four_choice_questions_of_clips_with_frames(client: TestClient, bench: Bench) -> None:
    problem(client.post("/v1/evaluations", json={"model": "teacher", "benchmark": bench.audio_only}), 422,
            "the teacher can be asked none of the 1 questions", "frames")
    teacher = client.post("/v1/evaluations", json={"model": "teacher", "benchmark": bench.name})
    assert teacher.status_code == 202 and teacher.json()["model_ref"] == "teacher"


def test_the_idempotency_key_replays_or_refuses(client: TestClient, bench: Bench) -> None:
    body = {"model": "base:tiny-random", "benchmark": bench.name, "label": "base"}
    key = {"Idempotency-Key": f"ev-{uuid.uuid4()}"}
    first = client.post("/v1/evaluations", json=body, headers=key)
    replay = client.post("/v1/evaluations", json=body, headers=key)
    assert first.status_code == replay.status_code == 202
    assert replay.json()["id"] == first.json()["id"] and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == first.headers["location"]
    problem(client.post("/v1/evaluations", json={**body, "limit": 1}, headers=key), 409, "different request")


def test_the_list_is_newest_first_with_cursor_and_filters(client: TestClient, bench: Bench) -> None:
    made = [client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": bench.name,
                                                 "label": f"list-{i}"}).json()["id"] for i in range(3)]
    page = client.get("/v1/evaluations", params={"benchmark": bench.name, "limit": 2}).json()
    assert [e["id"] for e in page["items"]] == made[::-1][:2] and page["next_cursor"]
    rest = client.get("/v1/evaluations", params={"benchmark": bench.name, "limit": 2,
                                                 "cursor": page["next_cursor"]}).json()
    assert rest["items"][0]["id"] == made[0]
    teachers = client.get("/v1/evaluations", params={"model_ref": "teacher", "benchmark": bench.name}).json()
    assert teachers["items"] and all(e["model_ref"] == "teacher" for e in teachers["items"])
    problem(client.get("/v1/evaluations", params={"cursor": "garbage"}), 400, "cursor")
    problem(client.get("/v1/evaluations", params={"state": "sleeping"}), 422, "state")


# --- stored results: items, reports, comparisons -----------------------------------------------------------


def finished(settings: Settings, bench: Bench, label: str, right: set[int], state: RunState = RunState.succeeded,
             not_asked: int | None = None) -> str:
    """An evaluation row of the 4 tone/noise test questions as a worker leaves it: items and results."""
    evaluation_id = uuid.uuid4()
    with session_scope(settings.database_url) as session:
        session.add(Evaluation(id=evaluation_id, model_ref=f"base:{label}", model_label=label, benchmark=bench.name,
                               split=Split.test, settings={}, state=state, progress={"done": 4, "total": 4},
                               results={}))
        session.flush()
        outcomes = []
        for i, question_id in enumerate(bench.question_ids[:4]):
            category = "tones" if i % 2 == 0 else "noise"
            gold = 0 if category == "tones" else 1
            asked = i != not_asked
            predicted = gold if i in right else (None if not asked else 1 - gold)
            session.add(EvaluationItem(
                evaluation_id=evaluation_id, question_id=question_id, category=category, predicted_index=predicted,
                correct=i in right, output=f"<answer>{'AB'[predicted]}</answer>" if predicted is not None else "",
                parse_error=None if asked else NOT_ASKED + "audio could not be read", latency_ms=10.0 * (i + 1)))
            outcomes.append(ItemOutcome(category, i in right, "tag" if asked else None, error=not asked,
                                        latency_ms=10.0 * (i + 1), strict=i in right))
        if state == RunState.succeeded:
            session.execute(update(Evaluation).where(Evaluation.id == evaluation_id)
                            .values(results=summarize(outcomes).model_dump(mode="json")))
    return str(evaluation_id)


def test_items_page_in_answer_order_with_question_gold_and_filters(
    client: TestClient, settings: Settings, bench: Bench
) -> None:
    evaluation_id = finished(settings, bench, "items", right={0, 1}, not_asked=3)
    first = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    item = first["items"][0]
    assert item["question_id"] == str(bench.question_ids[0]) and item["question"] == "What is heard?"
    assert item["choices"][0] == "A steady tone" and item["gold_index"] == 0 == item["predicted_index"]
    assert item["correct"] is True and item["output"] == "<answer>A</answer>" and item["category"] == "tones"
    rest = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"limit": 3,
                                                                         "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert rest["items"][0]["parse_error"].startswith(NOT_ASKED)
    wrong = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"correct": False}).json()["items"]
    assert [i["question_id"] for i in wrong] == [str(q) for q in bench.question_ids[2:4]]
    noise = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"category": "noise"}).json()["items"]
    assert {i["category"] for i in noise} == {"noise"} and len(noise) == 2
    problem(client.get(f"/v1/evaluations/{uuid.uuid4()}/items"), 404, "no evaluation")


def test_the_report_as_json_and_markdown(client: TestClient, settings: Settings, bench: Bench) -> None:
    evaluation_id = finished(settings, bench, "report", right={0, 1, 2})
    report = client.get(f"/v1/evaluations/{evaluation_id}/report").json()
    assert report["evaluation_id"] == evaluation_id and report["model_label"] == "report"
    overall = report["results"]["overall"]
    assert {k: overall[k] for k in ("n", "correct", "accuracy", "unanswered", "errors", "strict_correct")} == {
        "n": 4, "correct": 3, "accuracy": 0.75, "unanswered": 0, "errors": 0, "strict_correct": 3}
    assert overall["interval"] == {"low": 0.25, "high": 1.0}
    per_category = report["results"]["per_category"]
    assert {k: (v["n"], v["correct"], v["accuracy"]) for k, v in per_category.items()} == {
        "noise": (2, 1, 0.5), "tones": (2, 2, 1.0)}
    assert per_category["noise"]["strict_interval"] == {"low": 0.0, "high": 1.0}
    markdown = client.get(f"/v1/evaluations/{evaluation_id}/report", params={"format": "markdown"})
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert "| noise | 2 | 1 | 50.0% | [0.0, 100.0] | 1 | 50.0% | [0.0, 100.0] |" in markdown.text
    assert "| tones | 2 | 2 | 100.0% | [100.0, 100.0] | 2 | 100.0% | [100.0, 100.0] |" in markdown.text
    assert "strict accuracy (a well-formed `<answer>X</answer>` only): **75.0%** (3/4)" in markdown.text
    problem(client.get(f"/v1/evaluations/{evaluation_id}/report", params={"format": "pdf"}), 422, "format")
    problem(client.get(f"/v1/evaluations/{uuid.uuid4()}/report"), 404, "no evaluation")


def test_a_report_of_an_unfinished_evaluation_is_409(client: TestClient, settings: Settings, bench: Bench) -> None:
    evaluation_id = finished(settings, bench, "running", right=set(), state=RunState.running)
    body = problem(client.get(f"/v1/evaluations/{evaluation_id}/report"), 409, "is running", "succeeded")
    assert body["state"] == "running"


def test_compare_in_column_order_as_json_and_markdown(client: TestClient, settings: Settings, bench: Bench) -> None:
    base = finished(settings, bench, "base", right={0})
    trained = finished(settings, bench, "SFT+GRPO", right={0, 1, 2})
    table = client.get("/v1/evaluations/compare", params={"ids": f"{base}, {trained}"}).json()
    assert [c["label"] for c in table["columns"]] == ["base", "SFT+GRPO"]
    assert [c["evaluation_id"] for c in table["columns"]] == [base, trained]
    assert [r["name"] for r in table["rows"]] == ["overall", "noise", "tones"]
    assert [c["accuracy"] for c in table["rows"][0]["cells"]] == [0.25, 0.75]
    markdown = client.get("/v1/evaluations/compare", params={"ids": f"{trained},{base}", "format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    lines = markdown.text.splitlines()
    assert lines[2] == "| category | SFT+GRPO | base |"
    assert lines[4] == "| **overall** | **75.0% [25.0, 100.0] (3/4)** | 25.0% [0.0, 75.0] (1/4) |"
    assert "| SFT+GRPO | base | lenient | 4 | -50.0 |" in markdown.text and "within the noise" in markdown.text
    pairs = table["pairs"]
    assert [(p["a"], p["b"], p["measure"]) for p in pairs] == [(0, 1, "lenient"), (0, 1, "strict")]
    assert pairs[0]["n"] == 4 and (pairs[0]["only_a"], pairs[0]["only_b"]) == (0, 2)
    assert pairs[0]["p_value"] == 0.5 and pairs[0]["significant"] is False


def test_compare_refuses_unknown_unfinished_and_malformed_ids(
    client: TestClient, settings: Settings, bench: Bench
) -> None:
    done = finished(settings, bench, "done", right={1})
    running = finished(settings, bench, "still", right=set(), state=RunState.running)
    missing = str(uuid.uuid4())
    unknown = problem(client.get("/v1/evaluations/compare", params={"ids": f"{done},{missing}"}), 404, missing)
    assert unknown["unknown"] == [missing]
    busy = problem(client.get("/v1/evaluations/compare", params={"ids": f"{done},{running}"}), 409, running)
    assert busy["unfinished"] == [{"id": running, "state": "running"}]
    problem(client.get("/v1/evaluations/compare", params={"ids": "a,b"}), 422, "not an evaluation id")
    problem(client.get("/v1/evaluations/compare", params={"ids": f"{done},{done}"}), 422, "twice")
    problem(client.get("/v1/evaluations/compare", params={"ids": ","}), 422, "ids")
    problem(client.get("/v1/evaluations/compare"), 422, "ids")
    many = ",".join(str(uuid.uuid4()) for _ in range(17))
    problem(client.get("/v1/evaluations/compare", params={"ids": many}), 422, "at most 16")


def test_a_refused_request_stores_nothing(client: TestClient, settings: Settings, bench: Bench) -> None:
    with session_scope(settings.database_url) as session:
        before = session.scalar(select(func.count()).select_from(Evaluation))
    for body in ({"model": "base:embedded", "benchmark": bench.name}, {"model": "x", "benchmark": bench.name},
                 {"model": "base:tiny-random", "benchmark": "none-here"}):
        assert client.post("/v1/evaluations", json=body).status_code == 422
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == before


def test_unknown_evaluation_is_404(client: TestClient) -> None:
    missing = uuid.uuid4()
    problem(client.get(f"/v1/evaluations/{missing}"), 404, f"no evaluation with id {missing}")
    problem(client.get("/v1/evaluations/not-a-uuid"), 422, "evaluation_id")


def test_the_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/evaluations", "/v1/evaluations/compare", "/v1/evaluations/{evaluation_id}",
                 "/v1/evaluations/{evaluation_id}/items", "/v1/evaluations/{evaluation_id}/report"):
        assert path in paths, path
    assert "202" in paths["/v1/evaluations"]["post"]["responses"]


# --- shortcut checks -----------------------------------------------------------------------------------


def test_rotations_and_silent_audio_are_recorded_and_count_their_asks(client: TestClient, bench: Bench) -> None:
    response = client.post("/v1/evaluations", json={
        "model": "base:tiny-random", "benchmark": bench.name, "choice_rotations": True, "silent_audio": True,
        "label_audio_contribution": True})
    assert response.status_code == 202, response.text
    evaluation = response.json()
    settings = evaluation["settings"]
    assert (settings["choice_rotations"], settings["silent_audio"], settings["label_audio_contribution"]) == (
        True, True, True)
    # 5 test questions: 4 of 4 choices and 1 of 2, each under every rotation (18 asks) and once silent (5 more).
    assert evaluation["progress"]["total"] == 23
    limited = client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": bench.name,
                                                   "choice_rotations": True, "limit": 2}).json()
    assert limited["progress"]["total"] == 8


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"model": "teacher", "silent_audio": True}, 422, ["silent_audio", "the teacher never hears the audio"]),
    ({"label_audio_contribution": True}, 422, ["label_audio_contribution", "set silent_audio to true"]),
    ({"choice_rotations": "sometimes"}, 422, ["choice_rotations", "valid boolean"]),
    ({"silent_audio": 3}, 422, ["silent_audio"]),
])
def test_shortcut_checks_that_cannot_be_made_are_422_saying_why(client: TestClient, bench: Bench,
                                                                 body: dict[str, Any], status: int,
                                                                 words: list[str]) -> None:
    problem(client.post("/v1/evaluations", json={"model": "base:tiny-random", "benchmark": bench.name, **body}),
            status, *words)


def test_rotated_and_silent_items_are_listed_apart_and_left_out_of_pairing(
    client: TestClient, settings: Settings, bench: Bench
) -> None:
    evaluation_id = finished(settings, bench, "items", right={0, 1})
    first = bench.question_ids[0]
    with session_scope(settings.database_url) as session:
        session.add_all([
            EvaluationItem(evaluation_id=uuid.UUID(evaluation_id), question_id=first, rotation=1, silent=False,
                           category="tones", predicted_index=0, correct=True, output="<answer>D</answer>",
                           parse_error=None, latency_ms=1.0),
            EvaluationItem(evaluation_id=uuid.UUID(evaluation_id), question_id=first, rotation=0, silent=True,
                           category="tones", predicted_index=3, correct=False, output="<answer>D</answer>",
                           parse_error=None, latency_ms=1.0)])
    everything = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"limit": 50}).json()["items"]
    assert len(everything) == 6
    rotated = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"rotation": 1}).json()["items"]
    assert [(i["rotation"], i["silent"], i["predicted_index"]) for i in rotated] == [(1, False, 0)]
    silent = client.get(f"/v1/evaluations/{evaluation_id}/items", params={"silent": True}).json()["items"]
    assert [(i["rotation"], i["silent"], i["correct"]) for i in silent] == [(0, True, False)]
    problem(client.get(f"/v1/evaluations/{evaluation_id}/items", params={"rotation": 4}), 422, "rotation")
    other = finished(settings, bench, "other", right={0})
    compared = client.get("/v1/evaluations/compare", params={"ids": f"{evaluation_id},{other}"}).json()
    assert {p["n"] for p in compared["pairs"]} == {4}  # the 4 questions as given, not 6 items
