"""The ``sightsound`` commands that operate a running SightSound through its API (and the benchmark import).

``run`` (the main job), ``submit``, ``import``, ``status``, ``dataset``, ``train``, ``checkpoints``,
``deploy``, ``evaluate``, ``compare``, ``ask``. API errors print their ``detail`` (it says what to fix) and
exit with status 2; long work can be waited on with a progress bar (``--wait``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sightsound.config import Settings, secret_value
from sightsound.contracts.training import DATASET_VARIANTS
from sightsound_ops.api_client import ApiClient, ApiError

Handler = Callable[[Settings, argparse.Namespace], int]


def _api(settings: Settings, args: argparse.Namespace) -> ApiClient:
    return ApiClient(args.api or settings.api_public_url, timeout_s=600,
                     api_key=args.api_key or secret_value(settings.api_key))


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _guarded(handler: Handler) -> Handler:
    """Print an API error's detail instead of a traceback."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return handler(settings, args)
        except ApiError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound_devdata.synthetic_recipes import RECIPES
    from sightsound_ops.mainjob.job import run_main_job
    from sightsound_ops.mainjob.options import MainJobOptions

    unknown = [c for c in args.categories.split(",") if c not in RECIPES]
    if unknown:
        print(f"error: unknown --categories {unknown}; choose from {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    options = MainJobOptions(api_port=args.port, train_clips=args.train_clips, test_clips=args.test_clips,
                             traces_per_question=args.k, keep_running=not args.exit, seed=args.seed,
                             report_dir=Path(args.report_dir), log_dir=Path(args.log_dir),
                             workdir=Path(args.workdir), student_model=args.student, sft_epochs=args.sft_epochs,
                             grpo_steps=args.grpo_steps, categories=tuple(args.categories.split(",")))
    return run_main_job(settings, options)


def cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound_ops.mainjob.waiting import wait_jobs

    with _api(settings, args) as api:
        job = api.submit_clip(Path(args.video), args.question, args.choice, answer_index=args.answer,
                              category=args.category, split=args.split, source=args.source)
        if args.wait:
            job = wait_jobs(api, [str(job["id"])], args.timeout)[0]
        _print(job)
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sightsound_ops.question_sources.importer import import_benchmark
    from sightsound_ops.question_sources.report import ImportFailed

    try:
        with tqdm(desc=f"import {args.benchmark}", unit="media file") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            report = import_benchmark(settings, args.benchmark, Path(args.json), Path(args.media_dir),
                                      split=args.split, limit=args.limit,
                                      on_error="fail" if args.strict else "skip", progress=progress)
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.report is not None:
            print(exc.report.summary(), file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    with _api(settings, args) as api:
        if args.job:
            _print(api.job(args.job))
        elif args.run:
            _print(api.run(args.run))
        elif args.evaluation:
            _print(api.evaluation(args.evaluation))
        else:
            _print(api.stats(source=args.source))
    return 0


def cmd_dataset(settings: Settings, args: argparse.Namespace) -> int:
    filters: dict[str, Any] = json.loads(args.filters) if args.filters else {}
    if args.split:
        filters["split"] = args.split
    with _api(settings, args) as api:
        _print(api.create_dataset(args.name, args.variant, filters))
    return 0


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound_ops.mainjob.waiting import wait_run

    hp = json.loads(args.hyperparameters) if args.hyperparameters else {}
    with _api(settings, args) as api:
        run = api.create_run(args.dataset, args.student, args.stages.split(","), hp)
        if args.wait:
            run = wait_run(api, str(run["id"]), "train", args.timeout)
        _print(run)
    return 0 if run["state"] != "failed" else 1


def cmd_checkpoints(settings: Settings, args: argparse.Namespace) -> int:
    with _api(settings, args) as api:
        for ckpt in api.checkpoints(args.run):
            mark = "*" if ckpt.get("deployed") else " "
            print(f"{mark} {ckpt['id']}  run {ckpt['run_id']}  {ckpt['stage']} step {ckpt['step']}  "
                  f"{json.dumps(ckpt.get('metrics') or {})}")
    return 0


def cmd_deploy(settings: Settings, args: argparse.Namespace) -> int:
    with _api(settings, args) as api:
        _print(api.deploy(args.checkpoint))
    return 0


def cmd_evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from sightsound_ops.mainjob.waiting import wait_evaluation

    with _api(settings, args) as api:
        evaluation = api.create_evaluation(args.model, args.benchmark, label=args.label, split=args.split,
                                           choice_rotations=args.rotations, silent_audio=args.silent_audio,
                                           label_audio_contribution=args.label_audio_contribution)
        if args.wait:
            evaluation = wait_evaluation(api, str(evaluation["id"]), "evaluate", args.timeout)
        _print(evaluation)
    return 0 if evaluation["state"] != "failed" else 1


def cmd_compare(settings: Settings, args: argparse.Namespace) -> int:
    with _api(settings, args) as api:
        result = api.compare(args.evaluation, "markdown" if args.markdown else "json")
    print(result) if isinstance(result, str) else _print(result)
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    with _api(settings, args) as api:
        answer = api.ask(Path(args.media), args.question, args.choice or None, args.model, args.max_new_tokens)
    if args.json:
        _print(answer)
    else:
        print(answer.get("text", ""))
        if answer.get("answer_text") is not None:
            print(f"-> {answer.get('answer_letter')}. {answer['answer_text']}  (model {answer['model']['ref']})")
    return 0


def _with_api(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--api", default=None, help="API base URL (default: SIGHTSOUND_API_PUBLIC_URL)")
    parser.add_argument("--api-key", default=None, help="API key (default: SIGHTSOUND_API_KEY)")
    return parser


def register(sub: Any) -> None:
    """Add the commands to the ``sightsound`` parser's subparsers."""
    from sightsound_ops.mainjob.options import MainJobOptions

    run = sub.add_parser("run", help="the main job end to end on the embedded defaults (see README)")
    run.add_argument("--port", type=int, default=8000, help="API port")
    run.add_argument("--train-clips", type=int, default=MainJobOptions.train_clips)
    run.add_argument("--test-clips", type=int, default=MainJobOptions.test_clips)
    run.add_argument("--k", type=int, default=MainJobOptions.traces_per_question, help="teacher samples per question")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--student", default="embedded", help="student model (embedded: assembled from shipped weights)")
    run.add_argument("--sft-epochs", type=float, default=MainJobOptions.sft_epochs)
    run.add_argument("--grpo-steps", type=int, default=MainJobOptions.grpo_steps)
    run.add_argument("--categories", default=",".join(MainJobOptions.categories),
                     help="synthetic-set categories, comma-separated: sound_presence (default: the learnable one), "
                     "or sound_source,speech_content,music_or_speech,event_count,loudness")
    run.add_argument("--workdir", default="var/mainjob", help="synthetic set, datasets and checkpoints")
    run.add_argument("--report-dir", default="var/report")
    run.add_argument("--log-dir", default="var/logs")
    run.add_argument("--exit", action="store_true", help="stop the stack after the report (default: keep it up)")
    run.set_defaults(func=cmd_run)

    submit = _with_api(sub.add_parser("submit", help="upload a video with its audio question"))
    submit.add_argument("video")
    submit.add_argument("--question", required=True)
    submit.add_argument("--choice", action="append", required=True, help="repeat 4 times")
    submit.add_argument("--answer", type=int, help="index of the right choice, if known")
    submit.add_argument("--category")
    submit.add_argument("--split", default="train", choices=["train", "validation", "test"])
    submit.add_argument("--source")
    submit.add_argument("--wait", action="store_true")
    submit.add_argument("--timeout", type=float, default=1800)
    submit.set_defaults(func=_guarded(cmd_submit))

    imp = sub.add_parser("import", help="import a benchmark's JSON and local media as test questions")
    imp.add_argument("benchmark", help="mmau-test-mini, music-avqa or avqa")
    imp.add_argument("json", help="the benchmark's JSON file")
    imp.add_argument("--media-dir", required=True, help="folder of the benchmark's audio/video files")
    imp.add_argument("--split", default="test", choices=["train", "validation", "test"])
    imp.add_argument("--limit", type=int)
    imp.add_argument("--strict", action="store_true", help="fail on the first malformed entry instead of skipping")
    imp.set_defaults(func=cmd_import)

    status = _with_api(sub.add_parser("status", help="pipeline statistics, or one job, run or evaluation"))
    status.add_argument("--job")
    status.add_argument("--run")
    status.add_argument("--evaluation")
    status.add_argument("--source", help="only questions of this source (statistics)")
    status.set_defaults(func=_guarded(cmd_status))

    dataset = _with_api(sub.add_parser("dataset", help="snapshot accepted traces into a dataset"))
    dataset.add_argument("--name", default="sightsound")
    dataset.add_argument("--variant", default="cot", choices=list(DATASET_VARIANTS))
    dataset.add_argument("--split", default="train")
    dataset.add_argument("--filters", help="more filters as JSON, e.g. '{\"min_agreement\": 1.0}'")
    dataset.set_defaults(func=_guarded(cmd_dataset))

    train = _with_api(sub.add_parser("train", help="start a training run on a dataset"))
    train.add_argument("dataset", help="dataset id")
    train.add_argument("--student", default="embedded")
    train.add_argument("--stages", default="sft,grpo")
    train.add_argument("--hyperparameters", help="JSON, e.g. '{\"sft\": {\"epochs\": 2}}'")
    train.add_argument("--wait", action="store_true")
    train.add_argument("--timeout", type=float, default=24 * 3600)
    train.set_defaults(func=_guarded(cmd_train))

    ckpts = _with_api(sub.add_parser("checkpoints", help="list checkpoints (* = deployed)"))
    ckpts.add_argument("--run")
    ckpts.set_defaults(func=_guarded(cmd_checkpoints))

    deploy = _with_api(sub.add_parser("deploy", help="deploy a checkpoint (no restart needed)"))
    deploy.add_argument("checkpoint")
    deploy.set_defaults(func=_guarded(cmd_deploy))

    evaluate = _with_api(sub.add_parser("evaluate", help="evaluate a model on a benchmark's questions"))
    evaluate.add_argument("model", help="checkpoint:<id>, base:<name>, deployed or teacher")
    evaluate.add_argument("--benchmark", required=True, help="question source, e.g. mmau-test-mini")
    evaluate.add_argument("--label")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--rotations", action="store_true",
                          help="also ask each question under every rotation of its choices (consistency)")
    evaluate.add_argument("--silent-audio", action="store_true",
                          help="also ask each question with silent audio (answerable without listening)")
    evaluate.add_argument("--label-audio-contribution", action="store_true",
                          help="with --silent-audio: store each question's weak/strong audio contribution")
    evaluate.add_argument("--wait", action="store_true")
    evaluate.add_argument("--timeout", type=float, default=24 * 3600)
    evaluate.set_defaults(func=_guarded(cmd_evaluate))

    compare = _with_api(sub.add_parser("compare", help="per-category comparison of finished evaluations"))
    compare.add_argument("evaluation", nargs="+")
    compare.add_argument("--markdown", action="store_true")
    compare.set_defaults(func=_guarded(cmd_compare))

    ask = _with_api(sub.add_parser("ask", help="ask the student about an audio or video file"))
    ask.add_argument("media")
    ask.add_argument("question")
    ask.add_argument("--choice", action="append", help="repeat for each choice (2-4); none for a free question")
    ask.add_argument("--model", help="default: the deployed checkpoint")
    ask.add_argument("--max-new-tokens", type=int)
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(func=_guarded(cmd_ask))
