"""The ``sightsound`` command: database, local stack, the demo, the stuck-job reaper, settings; the main job
and the API operations are in :mod:`sightsound_ops.commands`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from sightsound.config import Settings, get_settings
from sightsound.db.migrate import ensure_database
from sightsound_ops.environment import service_env


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from sightsound.db.migrate import upgrade

    if ensure_database(settings.database_url):
        print(f"created database {make_url(settings.database_url).database}")
    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def cmd_stack_up(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound_ops.stack import Stack

    cmd_migrate(settings, args)
    stack = Stack(env=service_env(settings), log_dir=Path(args.log_dir), api_port=args.port)
    print(f"starting api, teacher, verifier and worker (logs in {args.log_dir}) ...", flush=True)
    with stack:
        print(f"SightSound is up: API {stack.api_url} (docs {stack.api_url}/docs); Ctrl-C stops it", flush=True)
        if stack.api_key:
            print(f"this run's admin API key (revoked when the stack stops): {stack.api_key}\n"
                  f"  export SIGHTSOUND_API_KEY={stack.api_key}", flush=True)
        if stack.serve_until_interrupted():
            return 1
    print("stopped")
    return 0


def _summarize_clip(clip: dict[str, Any]) -> str:
    lines = [f"clip {clip['id']}: {clip['duration_s']:.1f}s {clip['width']}x{clip['height']}, "
             f"audio={'yes' if clip['has_audio'] else 'no'}, {len(clip['frame_urls'] or [])} frames"]
    for q in clip["questions"]:
        job = q["job"]
        lines.append(f"question: {q['text']}  choices={q['choices']}  gold={q['answer_index']}")
        lines.append(f"job {job['id']}: {job['state']}  consensus={job['consensus_answer_index']} "
                     f"agreement={job['agreement']}  error={job['error']}")
        for s in q["traces"]:
            decision = (s["decision"] or {}).get("decision", "-")
            lines.append(f"  sample {s['trace_index']}: answer={s['answer_index']} decision={decision} "
                         f"({s['completion_tokens']} tokens, {s['latency_ms']:.0f} ms)")
            for c in s["claims"]:
                lines.append(f"    claim [{c['kind']}] {c['text']!r}: {c['final_verdict']} "
                             f"({c['final_confidence']:.2f})")
            for reason in (s["decision"] or {}).get("reasons", []):
                lines.append(f"    reason: {reason}")
    return "\n".join(lines)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """The main job at this stage: start the stack and push a generated clip through it."""
    from sightsound_devdata.demo_clip import DEMO_CHOICES, DEMO_QUESTION, demo_clip
    from sightsound_ops.stack import Stack

    cmd_migrate(settings, args)
    workdir = Path(tempfile.mkdtemp(prefix="sightsound-demo-"))
    clip_path = demo_clip(workdir / "demo.mp4")
    print(f"generated {clip_path} (drawn frames; espeak-ng speech then silence)", flush=True)
    env = service_env(settings)
    if settings.teacher_model == "tiny-random" and "SIGHTSOUND_TEACHER_TEMPERATURE" not in os.environ:
        # A random model sampled at 0.7 rarely agrees with itself; greedy decoding lets the demo show
        # every stage. Set SIGHTSOUND_TEACHER_TEMPERATURE to sample instead.
        env["SIGHTSOUND_TEACHER_TEMPERATURE"] = "0"
    stack = Stack(env=env, log_dir=Path(args.log_dir), api_port=args.port)
    print("starting api, teacher (tiny RANDOM Qwen2.5-VL, greedy), verifier and worker ...", flush=True)
    stack.start()
    try:
        with clip_path.open("rb") as fh:
            response = stack.http.post(
                f"{stack.api_url}/v1/clips",
                files={"video": ("demo.mp4", fh, "video/mp4")},
                data={
                    "question": DEMO_QUESTION,
                    "choices": json.dumps(list(DEMO_CHOICES)),
                    "answer_index": "0",
                    "category": "sound",
                },
                timeout=60,
            )
        response.raise_for_status()
        job = response.json()
        print(f"POST /v1/clips -> {response.status_code}, Location {response.headers['location']}", flush=True)
        deadline = time.monotonic() + args.timeout
        state = job["state"]
        while time.monotonic() < deadline:
            job = stack.http.get(f"{stack.api_url}/v1/jobs/{job['id']}", timeout=10).json()
            if job["state"] != state:
                state = job["state"]
                print(f"  job {job['id']}: {state}", flush=True)
            if state in ("accepted", "rejected", "no_consensus", "failed"):
                break
            time.sleep(0.5)
        clip = stack.http.get(f"{stack.api_url}/v1/clips/{job['clip_id']}", timeout=10).json()
        print(_summarize_clip(clip))
        if args.keep_running:
            print(f"the stack keeps running: API {stack.api_url}/docs ; Ctrl-C stops it", flush=True)
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0 if state in ("accepted", "rejected", "no_consensus") else 1
    finally:
        stack.stop()


def cmd_requeue_stuck(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound.tasks.dispatch import Dispatcher
    from sightsound_worker.reaper import requeue_stuck

    dispatcher = Dispatcher(settings)
    report = requeue_stuck(settings, older_than_s=args.older_than, send=dispatcher.enqueue)
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def cmd_keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound.db.keys import create_key
    from sightsound.db.session import session_scope

    try:
        with session_scope(settings.database_url) as session:
            created = create_key(session, args.name, args.scopes)
            key_id, prefix, scopes = created.key.id, created.key.prefix, created.key.scopes
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"id": str(key_id), "name": args.name, "prefix": prefix, "scopes": scopes,
                          "secret": created.secret}))
        return 0
    print(f"created key {key_id} ({prefix}…, scopes {','.join(scopes)}) for {args.name!r}", file=sys.stderr)
    print("the secret is shown once; only its hash is stored:", file=sys.stderr)
    print(created.secret)
    return 0


def cmd_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound.db.keys import list_keys
    from sightsound.db.session import session_scope

    with session_scope(settings.database_url) as session:
        keys = list_keys(session, include_revoked=args.all)
        rows: list[dict[str, Any]] = [{"id": str(k.id), "name": k.name, "prefix": k.prefix, "scopes": k.scopes,
                 "created_at": k.created_at.isoformat(),
                 "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                 "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None} for k in keys]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = f"revoked {row['revoked_at'][:19]}" if row["revoked_at"] else "active"
        used = (row["last_used_at"] or "never")[:19]
        print(f"{row['id']}  {row['prefix']}…  {','.join(row['scopes']):<24} {state:<27} last used {used}  "
              f"{row['name']}")
    return 0


def cmd_keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound.db.keys import revoke_key
    from sightsound.db.session import session_scope

    with session_scope(settings.database_url) as session:
        key = revoke_key(session, args.id)
        if key is None:
            print(f"error: no key {args.id!r} (give its id or its prefix; see `sightsound keys list`)", file=sys.stderr)
            return 2
        print(f"revoked {key.id} ({key.prefix}…, {key.name}); requests with it now get 401")
    return 0


def settings_markdown() -> str:
    rows = ["| variable | default | description |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default)
        rows.append(f"| `SIGHTSOUND_{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(rows)


def cmd_settings(_: Settings, args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings_markdown())
    else:
        print(get_settings().model_dump_json(indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sightsound", description="SightSound: distil audio reasoning from a vision teacher into an audio student."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the database if needed and apply migrations").set_defaults(
        func=cmd_migrate
    )
    stack = sub.add_parser("stack", help="the local stack as processes")
    stack_sub = stack.add_subparsers(dest="stack_command", required=True)
    up = stack_sub.add_parser("up", help="start api, teacher, verifier and worker; Ctrl-C stops them")
    up.add_argument("--port", type=int, default=8000, help="API port")
    up.add_argument("--log-dir", default="var/logs")
    up.set_defaults(func=cmd_stack_up)
    demo = sub.add_parser("demo", help="start the stack and push a generated clip through the pipeline")
    demo.add_argument("--port", type=int, default=8000, help="API port")
    demo.add_argument("--log-dir", default="var/logs")
    demo.add_argument("--timeout", type=float, default=600)
    demo.add_argument("--keep-running", action="store_true", help="leave the stack up for queries")
    demo.set_defaults(func=cmd_demo)
    jobs = sub.add_parser("jobs", help="job maintenance")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    requeue = jobs_sub.add_parser("requeue-stuck", help="re-enqueue jobs whose state has not moved")
    requeue.add_argument("--older-than", type=float, default=get_settings().stuck_after_s, metavar="SECONDS")
    requeue.set_defaults(func=cmd_requeue_stuck)
    from sightsound.auth import SCOPE_HELP

    keys = sub.add_parser("keys", help="API keys: create (the secret is shown once), list, revoke")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser(
        "create", help="create a key; prints its secret once",
        epilog="scopes: " + "; ".join(f"{name}: {what}" for name, what in SCOPE_HELP.items()))
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument("--scopes", required=True, help="comma-separated: read,submit,train,admin")
    create.add_argument("--json", action="store_true", help="one JSON line with id, prefix, scopes and secret")
    create.set_defaults(func=cmd_keys_create)
    listing = keys_sub.add_parser("list", help="the keys (prefix, scopes, last use); never their secrets")
    listing.add_argument("--all", action=argparse.BooleanOptionalAction, default=True,
                         help="include revoked keys (default)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key at once (by id or prefix)")
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_keys_revoke)
    st = sub.add_parser("settings", help="print the effective settings")
    st.add_argument("--markdown", action="store_true", help="the README table of all settings")
    st.set_defaults(func=cmd_settings)
    from sightsound_ops.commands import register

    register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(get_settings(), args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
