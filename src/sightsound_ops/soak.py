"""The soak of issue 12: many uploads from concurrent clients against the real API and Celery workers while
PostgreSQL and Redis restart under them; at the end every job has ended once, no row exists twice and the media
root holds exactly the files the rows point to.

Nothing here touches the machine's own PostgreSQL or Redis (other tests share them): the platform's processes
reach PostgreSQL through a :class:`TcpProxy` on loopback whose ``stop`` closes every connection and refuses new
ones (what clients see when PostgreSQL restarts), and use a private ``redis-server`` (append-only file, as compose
runs it) that is really stopped and started again. The teacher and the verifier are the stand-ins of
:mod:`sightsound_devdata.model_standins` (HTTP services answering in a set time), so the pipeline goes through
ingest, reason, verify and decide in seconds per job on two cores. Used by ``tests/e2e/test_soak.py`` (a smaller
run in CI) and ``perf/soak.py`` (the full 200 uploads from 20 clients, JSON in ``perf/results/``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from sightsound.collect import collect_orphans
from sightsound.config import Settings
from sightsound.db.keys import create_key
from sightsound.db.models import TERMINAL_STATES, Clip, Job
from sightsound.db.session import get_engine, session_scope
from sightsound.registry import url_path
from sightsound.tasks.dispatch import Dispatcher
from sightsound_devdata.clipgen import Tone, VideoSpec, make_clip
from sightsound_ops.pipeline_rig import CHOICES, PipelineRig, rig_env
from sightsound_ops.stack import free_port, signals_raise
from sightsound_worker.reaper import requeue_stuck

#: Rows the pipeline must write once: (name, query counting the keys that exist more than once).
DUPLICATE_QUERIES = {
    "clips": "SELECT count(*) FROM (SELECT content_hash FROM clips GROUP BY 1 HAVING count(*) > 1) d",
    "questions": "SELECT count(*) FROM (SELECT clip_id, fingerprint FROM questions GROUP BY 1, 2 "
                 "HAVING count(*) > 1) d",
    "jobs_per_question": "SELECT count(*) FROM (SELECT question_id FROM jobs GROUP BY 1 HAVING count(*) > 1) d",
    "traces": "SELECT count(*) FROM (SELECT job_id, trace_index FROM traces GROUP BY 1, 2 HAVING count(*) > 1) d",
    "claims": "SELECT count(*) FROM (SELECT trace_id, claim_index FROM claims GROUP BY 1, 2 HAVING count(*) > 1) d",
    "verdicts": "SELECT count(*) FROM (SELECT claim_id, checker FROM verdicts GROUP BY 1, 2 HAVING count(*) > 1) d",
    "decisions": "SELECT count(*) FROM (SELECT trace_id FROM trace_decisions GROUP BY 1 HAVING count(*) > 1) d",
}


class TcpProxy:
    """A TCP forwarder on a loopback port that can be 'restarted': :meth:`stop` closes every connection and
    refuses new ones until :meth:`start` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._running = False
        self.connections = 0

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        listener.settimeout(0.2)
        self._listener, self._running = listener, True
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def stop(self) -> None:
        self._running = False
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._running:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._sockets -= {src, dst}
            src.close()


class PrivateRedis:
    """A ``redis-server`` of our own on a free loopback port, append-only like compose's, to stop and start."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes", "--save", "",
                 "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError as exc:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    tail = (self.folder / "redis.log").read_text()[-2000:]
                    raise RuntimeError(f"redis-server did not start: {tail}") from exc
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis writes its append-only file and exits
            self.process.wait(timeout=30)
        self.process = None


@dataclass
class Upload:
    index: int
    question: str
    clip: Path
    job_id: str | None = None
    attempts: int = 0
    refusals: Counter[str] = field(default_factory=Counter)


def soak_clips(folder: Path, count: int) -> list[Path]:
    """``count`` distinct tiny clips (1 s, 96x64 at 8 fps, a tone of its own): each is stored once however many
    questions it gets."""
    folder.mkdir(parents=True, exist_ok=True)
    return [make_clip(folder / f"soak-{i}.mp4", video=VideoSpec(width=96, height=64, fps=8),
                      audio=Tone(220.0 + 15.0 * i, 1.0)) for i in range(count)]


def _upload(http: httpx.Client, api_url: str, upload: Upload, deadline: float,
            stop: threading.Event | None = None) -> None:
    """Send one upload until the API takes it (202, or 200 for a replay), with one Idempotency-Key throughout:
    an outage answers 5xx or drops the connection, and the client tries again as a careful client would."""
    key = uuid.uuid4().hex
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        upload.attempts += 1
        try:
            with upload.clip.open("rb") as handle:
                response = http.post(f"{api_url}/v1/clips", headers={"Idempotency-Key": key},
                                     files={"video": (upload.clip.name, handle, "video/mp4")},
                                     data={"question": upload.question, "choices": CHOICES, "category": "soak"})
        except httpx.HTTPError as exc:
            upload.refusals[type(exc).__name__] += 1
            time.sleep(1.0)
            continue
        if response.status_code in (200, 202):
            upload.job_id = str(response.json()["id"])
            return
        upload.refusals[str(response.status_code)] += 1
        if response.status_code < 500 and response.status_code != 429:
            raise RuntimeError(f"upload {upload.index} refused: {response.status_code} {response.text[:300]}")
        time.sleep(float(response.headers.get("retry-after", "1")))
    raise TimeoutError(f"upload {upload.index} not taken before the deadline: {dict(upload.refusals)}")


def _terminal_count(database_url: str, job_ids: set[str] | None = None) -> tuple[int, Counter[str]]:
    with session_scope(database_url) as session:
        rows = session.execute(select(Job.id, Job.state)).all()
    states = Counter(state.value for job_id, state in rows if job_ids is None or str(job_id) in job_ids)
    return sum(n for s, n in states.items() if s in {t.value for t in TERMINAL_STATES}), states


def stored_files(media_root: Path) -> set[Path]:
    return {p.resolve() for p in media_root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(media_root).parts}


def referenced_files(database_url: str) -> set[Path]:
    refs: set[Path] = set()
    with session_scope(database_url) as session:
        for media_url, audio_url, frame_urls in session.execute(select(Clip.media_url, Clip.audio_url,
                                                                      Clip.frame_urls)):
            for url in [media_url, audio_url, *(frame_urls or [])]:
                if url:
                    refs.add(url_path(url).resolve())
    return refs


def run_soak(database_url: str, work: Path, *, uploads: int = 200, clients: int = 20, distinct_clips: int = 40,
             down_s: float = 4.0, traces: int = 3, timeout_s: float = 900.0,
             say: Any = print) -> dict[str, Any]:
    """The soak; ``database_url`` is a migrated database of its own (reached directly for the checks, through
    the proxy by the platform). Returns the measurements; raises only when the run cannot go on. However it ends
    (normally, an exception, Ctrl-C, SIGTERM), every process it started is stopped before it returns."""
    with signals_raise():
        return _run_soak(database_url, work, uploads=uploads, clients=clients, distinct_clips=distinct_clips,
                         down_s=down_s, traces=traces, timeout_s=timeout_s, say=say)


def _run_soak(database_url: str, work: Path, *, uploads: int, clients: int, distinct_clips: int, down_s: float,
              traces: int, timeout_s: float, say: Any) -> dict[str, Any]:
    started = time.monotonic()
    media_root = work / "media"
    media_root.mkdir(parents=True, exist_ok=True)
    target = make_url(database_url)
    pg_proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    private_redis = PrivateRedis(work / "redis")
    proxied_url = target.set(host="127.0.0.1", port=pg_proxy.port).render_as_string(hide_password=False)
    env = rig_env(proxied_url, private_redis.url, media_root, **{
        "SIGHTSOUND_TRACES_PER_QUESTION": str(traces),
        "SIGHTSOUND_TEACHER_MAX_IN_FLIGHT": "32",
        "SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT": "32",
        "SIGHTSOUND_HTTP_TIMEOUT_S": "10",
        "SIGHTSOUND_BROKER_VISIBILITY_TIMEOUT_S": "10",
        "SIGHTSOUND_DATABASE_POOL_SIZE": "6",
        # The API's real per-key budgets (each client has its own key), not the rig's unlimited ones.
        "SIGHTSOUND_RATE_LIMIT_WRITE": "120/minute",
        "SIGHTSOUND_RATE_LIMIT_READ": "1200/minute",
    })
    settings = Settings(environment="test", database_url=database_url, redis_url=private_redis.url,
                        media_root=media_root, orphan_grace_s=0.001)
    clips = soak_clips(work / "clips", distinct_clips)
    plan = [Upload(i, f"Soak {i}: what is heard? ({uuid.uuid4().hex[:8]})", clips[i % len(clips)])
            for i in range(uploads)]
    with session_scope(database_url) as session:
        keys = [create_key(session, f"soak client {c}", ["read", "submit"]).secret for c in range(clients)]
    restarts: list[dict[str, Any]] = []
    crashes: list[dict[str, Any]] = []
    reaped = 0
    stop = threading.Event()
    pool: ThreadPoolExecutor | None = None
    rig = PipelineRig(env=env, log_dir=work / "logs", database_url=proxied_url, teacher_s=0.3, verifier_s=0.3,
                      no_consensus=0.1, reject=0.2)
    try:
        pg_proxy.start()
        private_redis.start()
        with rig:
            rig.add_ingest_worker(2)
            rig.add_model_worker(16)
            deadline = time.monotonic() + timeout_s
            failures: list[BaseException] = []

            def client(c: int) -> None:
                with httpx.Client(headers={"Authorization": f"Bearer {keys[c]}"}, timeout=30) as http:
                    for upload in plan[c::clients]:
                        try:
                            _upload(http, rig.api_url, upload, deadline, stop)
                        except BaseException as exc:
                            failures.append(exc)

            # (what, at which share of the uploads taken, the server stopped and started, how it is said)
            outages = (("postgresql", 0.3, pg_proxy, "PostgreSQL goes away (proxy stopped)"),
                       ("redis", 0.7, private_redis, "Redis restarts"))
            pool = ThreadPoolExecutor(clients)
            futures = [pool.submit(client, c) for c in range(clients)]
            upload_started = time.monotonic()
            next_reap = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(1.0)
                taken = sum(1 for u in plan if u.job_id is not None)
                if len(restarts) < len(outages) and taken >= outages[len(restarts)][1] * uploads:
                    what, _, server, how = outages[len(restarts)]
                    say(f"  {taken} uploads taken: {how} ({down_s:.0f} s down)")
                    server.stop()
                    time.sleep(down_s)
                    server.start()
                    restarts.append({"what": what, "at_uploads_taken": taken, "down_s": down_s,
                                     "at_s": round(time.monotonic() - started, 1)})
                for name in [n for n in rig.workers() if not rig.processes[n].alive()]:
                    # What compose's `restart: unless-stopped` does, so the run can go on and show what else
                    # breaks; but a crash is a failure of the soak (the tests require none).
                    crashes.append({"worker": name, "at_s": round(time.monotonic() - started, 1),
                                    "log_tail": rig.processes[name].log_tail(6)})
                    say(f"  worker {name} exited: started again")
                    rig.kill(name)
                    if name.startswith("ingest-"):
                        rig.add_ingest_worker(2)
                    else:
                        rig.add_model_worker(16)
                if time.monotonic() >= next_reap:  # what beat does every few minutes, sooner
                    next_reap = time.monotonic() + 5
                    try:
                        reaped += len(requeue_stuck(settings, older_than_s=20,
                                                    send=Dispatcher(settings).enqueue).requeued)
                    except Exception as exc:
                        say(f"  reaper round failed: {type(exc).__name__}")
                ids = {u.job_id for u in plan if u.job_id is not None}
                done, _ = _terminal_count(database_url, ids)
                if all(f.done() for f in futures) and done >= len(ids) and len(restarts) == len(outages):
                    break
            uploads_s = time.monotonic() - upload_started
            pool.shutdown(wait=True)
            logs = {name: proc.log_tail(40) for name, proc in rig.processes.items()}
    finally:
        stop.set()  # the clients give up at once (a signal or an error ended the run early)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        rig.stop()  # idempotent; here too in case the rig's own exit did not run
        private_redis.stop()
        pg_proxy.stop()
        get_engine(proxied_url).dispose()
    job_ids = {u.job_id for u in plan if u.job_id is not None}
    done, states = _terminal_count(database_url, job_ids)
    with session_scope(database_url) as session:
        duplicates = {name: int(session.execute(text(sql)).scalar_one()) for name, sql in DUPLICATE_QUERIES.items()}
        jobs_in_db = int(session.execute(text("SELECT count(*) FROM jobs")).scalar_one())
        unfinished = int(session.execute(text(
            "SELECT count(*) FROM jobs WHERE finished_at IS NULL")).scalar_one())
        failed_errors = [e for e, in session.execute(text("SELECT error FROM jobs WHERE state = 'failed'"))]
    stored, referenced = stored_files(media_root), referenced_files(database_url)
    orphans_before = sorted(str(p) for p in stored - referenced)
    collected = collect_orphans(settings)
    stored_after = stored_files(media_root)
    refusals: Counter[str] = Counter()
    for upload in plan:
        refusals.update(upload.refusals)
    return {
        "uploads": uploads, "clients": clients, "distinct_clips": len(clips), "traces_per_question": traces,
        "restarts": restarts,
        "wall_s": round(time.monotonic() - started, 1), "uploads_and_jobs_s": round(uploads_s, 1),
        "machine": {"cpus": os.cpu_count(), "note": "shared 2-core CPU box; teacher and verifier are stand-ins"},
        "uploads_taken": len(job_ids), "upload_errors": [repr(e) for e in failures],
        "upload_attempts": sum(u.attempts for u in plan), "upload_refusals": dict(refusals),
        "jobs_in_database": jobs_in_db, "jobs_terminal": done, "states": dict(states),
        "unfinished": unfinished, "failed_errors": failed_errors[:10],
        "duplicates": duplicates, "reaper_requeued": reaped, "worker_crashes": crashes,
        "files_stored": len(stored), "files_referenced": len(referenced),
        "orphans_before_collector": len(orphans_before), "orphan_examples": orphans_before[:5],
        "collector": collected, "orphans_after_collector": len(stored_after - referenced),
        "missing_files": len(referenced - stored_after),
        "proxy_connections": pg_proxy.connections,
        "log_tails": logs if failures or states.get("failed") or done < len(job_ids) else {},
    }
