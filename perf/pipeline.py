"""Throughput of the whole pipeline against model servers of a set latency: clips per minute at in-flight limits.

    python perf/pipeline.py                       # levels 1,8,32,128; writes perf/results/pipeline-cpu.json
    python perf/pipeline.py --levels 1,8 --teacher-s 1 --verifier-s 1

Real processes: the API (uvicorn), PostgreSQL (a scratch database next to the tests', migrated with Alembic,
dropped at the end), Redis (database 12, flushed), an ingest worker (prefork) and ``--model-workers`` reason +
verify workers (threads pool). The teacher and verifier are :mod:`sightsound_devdata.model_standins`: a request
takes ``base * (1 + slope * (n - 1))`` seconds with ``n`` in flight on its route, as a batching server's does.

Per in-flight limit ``L`` (``SIGHTSOUND_TEACHER_MAX_IN_FLIGHT`` = ``SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT`` = L):
``--jobs-per-slot`` x L jobs (at least ``--min-jobs``) are uploaded through ``POST /v1/clips`` while no worker runs,
then the workers start and the clock runs until the last job ends. Reported:

- **throughput**: jobs (one question on a clip each) per minute in the steady state (between the 10th and the 90th
  percentile of finish times) and over the whole run;
- **ideal**: what the model servers allow, ``L / latency(L)`` per second (both stages hold L requests each);
  the ratio measured / ideal, and ``ideal / measured - 1``: the time the pipeline adds per job on the critical
  path, as a share of model time;
- **model servers**: most requests ever in flight per route, mean model seconds;
- **database load**: SQLAlchemy statements per job (every process: API and workers; ``perf/statements.py``) and
  PostgreSQL transactions per job (``pg_stat_database``);
- **backpressure** (at the highest level): upload latency while the stages are saturated, and the API's
  ``sightsound_queue_depth`` gauges at that moment.

Then a **latency** phase: ``--latency-jobs`` jobs one at a time; per job, ``finished_at - created_at`` (the API's
enqueue, three queue hops, ingest's claim of an ingested clip, both model calls, every database write) minus the
stand-ins' model seconds is the pipeline's overhead, reported as a share of model time. Goal: within 10% of the
ideal at 128 in flight; overhead under 2% of model time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
import psutil
import redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from sightsound.db.migrate import upgrade
from sightsound.db.models import Job
from sightsound.db.session import get_engine, session_scope
from sightsound_devdata.demo_clip import demo_clip
from sightsound_ops.pipeline_rig import PipelineRig, rig_env

ROOT = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("SIGHTSOUND_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SIGHTSOUND_PERF_REDIS_URL", "redis://127.0.0.1:6379/12")


def statements_total(folder: Path) -> int:
    return sum(json.loads(p.read_text())["statements"] for p in folder.glob("*.json"))


def transactions(database_url: str) -> int:
    name = make_url(database_url).database
    admin = create_engine(PG_ADMIN_URL)
    with admin.connect() as conn:
        value = conn.execute(text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :n"),
                             {"n": name}).scalar_one()
    admin.dispose()
    return int(value)


def job_times(database_url: str, job_ids: list[str]) -> list[tuple[float, float, float]]:
    """(created, started, finished) Unix seconds of each finished job."""
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Job.created_at, Job.started_at, Job.finished_at).where(Job.id.in_([uuid.UUID(j) for j in job_ids]))
        ).all()
    return [(c.timestamp(), s.timestamp(), f.timestamp()) for c, s, f in rows if s is not None and f is not None]


def steady_rate(finished: list[float]) -> float:
    """Jobs per second between the 10th and the 90th percentile of finish times."""
    ordered = sorted(finished)
    lo, hi = int(0.1 * (len(ordered) - 1)), int(0.9 * (len(ordered) - 1))
    span = ordered[hi] - ordered[lo]
    return (hi - lo) / span if span > 0 else float("nan")


def rig_cpu_s(rig: PipelineRig, database_url: str) -> float:
    """CPU seconds used so far by the rig's processes (with their children) and the database's backends."""
    pids = {proc.pid for proc in rig.processes.values() if proc.alive()}
    admin = create_engine(PG_ADMIN_URL)
    with admin.connect() as conn:
        pids |= set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"),
                                 {"n": make_url(database_url).database}).scalars())
    admin.dispose()
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def queue_depths(rig: PipelineRig) -> dict[str, float]:
    body = rig.http.get(f"{rig.api_url}/metrics", timeout=30).text
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^sightsound_queue_depth\{queue="([^"]+)"\} (\S+)$', body, re.MULTILINE)}


def run_level(rig: PipelineRig, clips: list[Path], level: int, args: argparse.Namespace, stmts: Path,
              probe: bool) -> dict[str, Any]:
    n_jobs = max(args.min_jobs, args.jobs_per_slot * level)
    print(f"[L={level}] uploading {n_jobs} jobs (no worker running)", flush=True)
    t_up = time.perf_counter()
    job_ids = rig.submit_many(clips, n_jobs, parallel=8)
    upload_s = time.perf_counter() - t_up
    rig.reset_model_stats()
    time.sleep(1.0)  # the statement counters' last writes
    st0, tx0 = statements_total(stmts), transactions(rig.database_url)
    threads = math.ceil((2 * level + 4) / args.model_workers)
    pool = str(min(args.pool_max, max(2, level // 4)))
    env = {"SIGHTSOUND_TEACHER_MAX_IN_FLIGHT": str(level), "SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT": str(level),
           "SIGHTSOUND_DATABASE_POOL_SIZE": pool}
    start = time.time()
    machine0 = psutil.cpu_times()
    rig.add_ingest_worker(args.ingest_processes, env)
    for _ in range(args.model_workers):
        rig.add_model_worker(threads, env, pool=args.pool)
    time.sleep(0.5 if args.pool == "threads" else 10.0)  # prefork: the children start
    cpu0 = rig_cpu_s(rig, rig.database_url)
    backpressure: dict[str, Any] | None = None
    if probe:
        # While the stages are saturated: the API keeps taking uploads, and /metrics shows the queues.
        ended = ("accepted", "rejected", "no_consensus", "failed")
        while sum(rig.states(job_ids).get(s, 0) for s in ended) < n_jobs // 4:
            time.sleep(0.5)
        depths = queue_depths(rig)
        timings = []
        extra = []
        for _ in range(args.probe_uploads):
            t = time.perf_counter()
            extra.append(str(rig.submit(clips[0])["id"]))
            timings.append(time.perf_counter() - t)
        job_ids += extra
        backpressure = {"uploads": len(timings), "upload_s_median": round(statistics.median(timings), 4),
                        "upload_s_max": round(max(timings), 4), "queue_depth_at_probe": depths,
                        "states_at_probe": dict(rig.states(job_ids))}
    states = rig.wait_terminal(job_ids, timeout_s=args.timeout_s)
    wall = time.time() - start
    cpu1 = rig_cpu_s(rig, rig.database_url)
    machine1 = psutil.cpu_times()
    busy = sum(getattr(machine1, f) - getattr(machine0, f) for f in ("user", "system", "nice", "irq", "softirq"))
    time.sleep(1.0)
    st1, tx1 = statements_total(stmts), transactions(rig.database_url)
    stats = rig.model_stats()
    rig.stop_workers()
    times = job_times(rig.database_url, job_ids)
    finished = [f for _, _, f in times]
    first_start = min(s for _, s, _ in times)
    overall = len(times) / (max(finished) - first_start)
    steady = steady_rate(finished)
    latency = {route: args.teacher_s if route == "reason" else args.verifier_s for route in ("reason", "verify")}
    ideal = min(level / (base * (1 + args.slope * (level - 1))) for base in latency.values())
    model_s = {route: statistics.fmean(a["model_s"] for a in stats[route]["answered"]) for route in latency}
    n = len(job_ids)
    result = {
        "in_flight_limit": level,
        "jobs": n,
        "states": dict(states),
        "model_workers": args.model_workers,
        "model_worker_pool": args.pool,
        "threads_per_model_worker": threads,
        "ingest_processes": args.ingest_processes,
        "database_pool_size": int(pool),
        "upload_s": round(upload_s, 2),
        "wall_s": round(wall, 2),
        "clips_per_minute_steady": round(60 * steady, 1),
        "clips_per_minute_overall": round(60 * overall, 1),
        "ideal_clips_per_minute": round(60 * ideal, 1),
        "ratio_to_ideal": round(steady / ideal, 4),
        "critical_path_overhead_share": round(ideal / steady - 1, 4),
        "peak_in_flight": {route: stats[route]["peak_in_flight"] for route in latency},
        "model_s_mean": {route: round(v, 4) for route, v in model_s.items()},
        "statements_per_job": round((st1 - st0) / n, 2),
        # The pipeline's processes (API, workers, stand-ins, PostgreSQL backends) after their start-up, per job;
        # and the whole machine's busy CPU over the run (other users' load included).
        "rig_cpu_s_per_job": round((cpu1 - cpu0) / n, 4),
        "machine_busy_cpu_s_per_job": round(busy / n, 4),
        "machine_cpu_busy_share": round(busy / (wall * (os.cpu_count() or 1)), 3),
        "transactions_per_job": round((tx1 - tx0) / n, 2),
    }
    if backpressure is not None:
        result["backpressure"] = backpressure
    print(json.dumps(result), flush=True)
    return result


def run_latency(rig: PipelineRig, clips: list[Path], args: argparse.Namespace) -> dict[str, Any]:
    """Jobs one at a time: the pipeline's own time per job, beside the model time."""
    env = {"SIGHTSOUND_TEACHER_MAX_IN_FLIGHT": "4", "SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT": "4"}
    rig.add_ingest_worker(1, env)
    rig.add_model_worker(4, env)
    warm = [str(rig.submit(clips[0])["id"]) for _ in range(2)]  # the first task in each process
    rig.wait_terminal(warm, timeout_s=120)
    rig.reset_model_stats()
    rows = []
    for _ in range(args.latency_jobs):
        question = f"What is heard? (latency {uuid.uuid4().hex[:10]})"
        job_id = str(rig.submit(clips[0], question)["id"])
        rig.wait_terminal([job_id], timeout_s=120, poll_s=0.05)
        rows.append((job_id, question))
    stats = rig.model_stats()
    rig.stop_workers()
    model_by_question = {a["key"]: a["model_s"] for a in stats["reason"]["answered"]}
    verify_model = [a["model_s"] for a in stats["verify"]["answered"]]
    per_job = []
    with session_scope(rig.database_url) as session:
        for (job_id, question), verify_s in zip(rows, verify_model, strict=False):
            job = session.get_one(Job, uuid.UUID(job_id))
            assert job.finished_at is not None
            total = (job.finished_at - job.created_at).total_seconds()
            model = model_by_question[question] + verify_s
            per_job.append({"total_s": round(total, 4), "model_s": round(model, 4),
                            "overhead_s": round(total - model, 4)})
    overhead = statistics.median(j["overhead_s"] for j in per_job)
    model = statistics.median(j["model_s"] for j in per_job)
    return {"jobs": len(per_job), "overhead_s_median": round(overhead, 4), "model_s_median": round(model, 4),
            "overhead_share_of_model_time": round(overhead / model, 4), "per_job": per_job}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32,128")
    parser.add_argument("--teacher-s", type=float, default=1.5)
    parser.add_argument("--verifier-s", type=float, default=1.5)
    parser.add_argument("--slope", type=float, default=0.001)
    parser.add_argument("--jobs-per-slot", type=int, default=8, help="jobs per level = this x the level")
    parser.add_argument("--min-jobs", type=int, default=16)
    parser.add_argument("--model-workers", type=int, default=2)
    parser.add_argument("--pool", choices=["threads", "prefork"], default="threads",
                        help="the model workers' pool (prefork: one process per call in flight, for comparison)")
    parser.add_argument("--ingest-processes", type=int, default=2)
    parser.add_argument("--pool-max", type=int, default=12, help="largest SIGHTSOUND_DATABASE_POOL_SIZE per worker")
    parser.add_argument("--probe-uploads", type=int, default=10)
    parser.add_argument("--latency-jobs", type=int, default=8)
    parser.add_argument("--timeout-s", type=float, default=900)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "pipeline-cpu.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the rig's processes and drop the database
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    levels = [int(x) for x in args.levels.split(",")]

    db_name = f"sightsound_pipeline_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    database_url = make_url(PG_ADMIN_URL).set(database=db_name).render_as_string(hide_password=False)
    redis.Redis.from_url(REDIS_URL).flushdb()
    results: dict[str, Any] = {}
    try:
        upgrade(database_url)
        with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
            work = Path(tmp)
            stmts = work / "statements"
            stmts.mkdir()
            clips = [demo_clip(work / "clip.mp4")]
            env = rig_env(database_url, REDIS_URL, work / "media", SIGHTSOUND_PERF_STATEMENTS_DIR=str(stmts))
            rig = PipelineRig(env=env, log_dir=work / "logs", database_url=database_url, teacher_s=args.teacher_s,
                              verifier_s=args.verifier_s, slope=args.slope,
                              python=[sys.executable, str(ROOT / "statements.py")])
            with rig:
                latency = run_latency(rig, clips, args)
                print(json.dumps({k: v for k, v in latency.items() if k != "per_job"}), flush=True)
                runs = [run_level(rig, clips, level, args, stmts, probe=level == max(levels)) for level in levels]
        top = runs[-1]
        results = {
            "what": "pipeline throughput against stand-in model servers (perf/pipeline.py)",
            "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores (shared; load "
                        f"average at start {os.getloadavg()[0]:.1f})",
            "python": platform.python_version(),
            "model_latency": {"teacher_s": args.teacher_s, "verifier_s": args.verifier_s, "slope": args.slope,
                              "formula": "base * (1 + slope * (in_flight - 1))"},
            "levels": runs,
            "latency": latency,
            "summary": {
                "ratio_to_ideal_at_top_level": top["ratio_to_ideal"],
                "top_level": top["in_flight_limit"],
                "overhead_share_of_model_time": latency["overhead_share_of_model_time"],
                "statements_per_job_at_top_level": top["statements_per_job"],
            },
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    finally:
        get_engine(database_url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        httpx.Client().close()


if __name__ == "__main__":
    main()
