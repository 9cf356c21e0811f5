"""Waiting on the API's long-running work (jobs, training runs, evaluations) with progress bars.

Each waiter polls the resource's ``GET`` route until it reaches a terminal state, drawing a tqdm bar
(on stderr) with what the resource says about itself; a deadline turns a stuck stage into a clear error
instead of a hang.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from tqdm import tqdm

from sightsound_ops.api_client import ApiClient, Json

JOB_DONE = frozenset({"accepted", "rejected", "no_consensus", "failed"})
RUN_DONE = frozenset({"succeeded", "failed", "cancelled"})


class StageTimeout(RuntimeError):
    pass


def _bar(total: int, desc: str, unit: str) -> tqdm[Any]:
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True)


def wait_jobs(api: ApiClient, job_ids: Sequence[str], timeout_s: float, poll_s: float = 1.0) -> list[Json]:
    """Poll every job until all are terminal; the bar counts finished jobs, the postfix their states."""
    pending = list(job_ids)
    done: dict[str, Json] = {}
    deadline = time.monotonic() + timeout_s
    with _bar(len(job_ids), "teacher + verifier", "clip") as bar:
        while pending:
            if time.monotonic() > deadline:
                raise StageTimeout(f"{len(pending)} jobs still running after {timeout_s:.0f} s")
            states: Counter[str] = Counter()
            for job_id in list(pending):
                job = api.job(job_id)
                states[job["state"]] += 1
                if job["state"] in JOB_DONE:
                    done[job_id] = job
                    pending.remove(job_id)
                    bar.update(1)
            finished = Counter(j["state"] for j in done.values())
            bar.set_postfix({**{k: v for k, v in states.items() if k not in JOB_DONE}, **finished}, refresh=True)
            if pending:
                time.sleep(poll_s)
    return [done[j] for j in job_ids]


def _wait_progress(
    fetch: Callable[[], Json], desc: str, timeout_s: float, describe: Callable[[Json], tuple[int, int, dict[str, Any]]],
    poll_s: float = 1.0,
) -> Json:
    deadline = time.monotonic() + timeout_s
    bar: tqdm[Any] | None = None
    current = ""
    try:
        while True:
            item = fetch()
            done, total, postfix = describe(item)
            label = f"{desc} {postfix.pop('stage', '')}".strip()
            if bar is None or label != current:
                if bar is not None:
                    bar.close()
                bar, current = _bar(max(total, 1), label, "step"), label
            bar.total = max(total, 1)
            bar.n = min(done, bar.total)
            bar.set_postfix(postfix, refresh=True)
            if item["state"] in RUN_DONE:
                return item
            if time.monotonic() > deadline:
                raise StageTimeout(f"{desc} still {item['state']} after {timeout_s:.0f} s")
            time.sleep(poll_s)
    finally:
        if bar is not None:
            bar.close()


def _run_progress(run: Json) -> tuple[int, int, dict[str, Any]]:
    progress = run.get("progress") or {}
    postfix: dict[str, Any] = {"stage": progress.get("stage") or run["state"]}
    for key in ("loss", "reward", "accuracy"):
        if progress.get(key) is not None:
            postfix[key] = f"{progress[key]:.3f}"
    return int(progress.get("step") or 0), int(progress.get("total_steps") or 0), postfix


def wait_run(api: ApiClient, run_id: str, desc: str, timeout_s: float) -> Json:
    return _wait_progress(lambda: api.run(run_id), desc, timeout_s, _run_progress)


def _evaluation_progress(evaluation: Json) -> tuple[int, int, dict[str, Any]]:
    progress = evaluation.get("progress") or {}
    return int(progress.get("done") or 0), int(progress.get("total") or 0), {}


def wait_evaluation(api: ApiClient, evaluation_id: str, desc: str, timeout_s: float) -> Json:
    return _wait_progress(lambda: api.evaluation(evaluation_id), desc, timeout_s, _evaluation_progress)
