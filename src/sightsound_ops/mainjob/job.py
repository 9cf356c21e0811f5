"""The main job, end to end on the embedded defaults: the README's first command.

1. build the synthetic set (real Debian sounds, scikit-image photos, espeak-ng speech;
   :mod:`sightsound_devdata.synthetic_set`);
2. start the stack (api, teacher, verifier, pipeline worker, trainer worker, student service);
3. import the test split as evaluation questions (no teacher work) and submit the train split by REST;
4. wait for teacher and verifier (progress bar), build the `cot`, `cot-unverified` and `label-only` datasets;
5. train the student: label-only SFT, CoT SFT on unverified traces, and CoT SFT then GRPO (the run's SFT
   checkpoint is the CoT SFT model) (:mod:`sightsound_ops.mainjob.ablation`);
6. evaluate the paper's ablation rows (base / label-only SFT / CoT SFT without and with verification /
   SFT+GRPO / the vision teacher) on the test split, print the comparison (strict and lenient accuracy,
   95% intervals, paired tests);
7. deploy the last checkpoint, ask it about a test clip, write the HTML report, and leave the API up.

Everything goes through the public API, as a user's script would; only the test import is a management
operation on the database (the importer runs where the media are).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from sightsound.config import Settings
from sightsound.db.migrate import ensure_database
from sightsound_ops.api_client import ApiClient, ApiError, Json
from sightsound_ops.environment import service_env
from sightsound_ops.mainjob.ablation import DATASET_VARIANTS, PLANS, evaluation_order
from sightsound_ops.mainjob.log import JobLog, say
from sightsound_ops.mainjob.options import SYNTHETIC_SOURCE, MainJobOptions
from sightsound_ops.mainjob.waiting import wait_evaluation, wait_jobs, wait_run


def stack_env(settings: Settings, options: MainJobOptions) -> dict[str, str]:
    """The services' environment: the embedded defaults, unless the user's environment says otherwise."""
    env = service_env(settings)
    defaults = {
        "SIGHTSOUND_TEACHER_BACKEND": "embedded",
        "SIGHTSOUND_TRACES_PER_QUESTION": str(options.traces_per_question),
        "SIGHTSOUND_TEACHER_MAX_NEW_TOKENS": str(options.teacher_max_new_tokens),
        "SIGHTSOUND_STUDENT_BASE_MODELS": json.dumps([options.student_model]),
        "SIGHTSOUND_STUDENT_AUDIO_WINDOW_S": str(options.student_audio_window_s),
        "SIGHTSOUND_DATASET_ROOT": str((options.workdir / "datasets").resolve()),
        "SIGHTSOUND_TRAINER_OUTPUT_ROOT": str((options.workdir / "runs").resolve()),
    }
    for key, value in {**defaults, **options.extra_env}.items():
        env.setdefault(key, value)
    return env


#: Services that work at the same time during the pipeline stage (teacher on one clip while the verifier
#: checks the previous one): one intra-op thread each, so they share the cores instead of oversubscribing
#: them (OpenMP threads spinning against each other made 2-thread processes 5-15x slower on 2 busy cores).
#: The trainer worker, which works alone, keeps every core.
SINGLE_THREADED = ("teacher", "verifier", "worker", "api", "student")


def pin_threads(stack: Any) -> None:
    for name in SINGLE_THREADED:
        if name in stack.processes and "OMP_NUM_THREADS" not in os.environ:
            stack.processes[name].env_overrides.update(
                {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "SIGHTSOUND_VERIFIER_CPU_THREADS": "1"}
            )


def latest_per_stage(checkpoints: list[Json]) -> dict[str, Json]:
    latest: dict[str, Json] = {}
    for ckpt in checkpoints:
        if ckpt["stage"] not in latest or ckpt["step"] > latest[ckpt["stage"]]["step"]:
            latest[ckpt["stage"]] = ckpt
    return latest


def submit_train_split(api: ApiClient, items: list[Any]) -> list[str]:
    job_ids = []
    for item in items:
        job = api.submit_clip(Path(item.path), item.question, item.choices, answer_index=item.answer_index,
                              category=item.category, split="train", source=SYNTHETIC_SOURCE)
        job_ids.append(str(job["id"]))
    return job_ids


def build_datasets(api: ApiClient, log: JobLog) -> None:
    for variant in DATASET_VARIANTS:
        try:
            dataset = api.create_dataset(f"synthetic-{variant}", variant, {"split": "train"})
        except ApiError as exc:
            log.notes.append(f"no {variant} dataset: {exc.detail}")
            say(f"    no {variant} dataset: {exc.detail}")
            continue
        log.datasets[variant] = dataset
        say(f"    dataset {dataset['name']} v{dataset['version']} ({variant}): {dataset['counts']}")


def train(api: ApiClient, options: MainJobOptions, log: JobLog) -> None:
    """One run per plan of :data:`~sightsound_ops.mainjob.ablation.PLANS` whose dataset exists, all queued
    first (the trainer worker takes them in turn); the last checkpoint of a stage stands for its row."""
    created = []
    for plan in PLANS:
        if plan.variant not in log.datasets:
            continue
        run = api.create_run(log.datasets[plan.variant]["id"], options.student_model, list(plan.stages),
                             options.hyperparameters())
        created.append((plan, str(run["id"])))
    for plan, run_id in created:
        run = wait_run(api, run_id, plan.run, options.stage_timeout_s)
        log.runs[plan.run] = run
        if run["state"] != "succeeded":
            log.notes.append(f"training run {plan.run} ended {run['state']}: {run.get('error')}")
            say(f"    {plan.run}: {run['state']}: {run.get('error')}")
            continue
        latest = latest_per_stage(api.checkpoints(run_id))
        for label, stage in plan.rows:
            if stage in latest:
                log.checkpoints[label] = str(latest[stage]["id"])


def evaluate(api: ApiClient, options: MainJobOptions, log: JobLog) -> None:
    """Every row of the ablation on the test split, in the paper's order, then their comparison (intervals,
    paired tests)."""
    created = {
        label: api.create_evaluation(ref, SYNTHETIC_SOURCE, label=label, max_new_tokens=options.eval_max_new_tokens)
        for label, ref in evaluation_order(options.student_model, log.checkpoints, options.evaluate_teacher)
    }
    for label, evaluation in created.items():
        done = wait_evaluation(api, str(evaluation["id"]), f"evaluate {label}", options.stage_timeout_s)
        log.evaluations[label] = done
        if done["state"] != "succeeded":
            log.notes.append(f"evaluation of {label} ended {done['state']}: {done.get('error')}")
    finished = [str(e["id"]) for e in log.evaluations.values() if e["state"] == "succeeded"]
    if finished:
        log.comparison = api.compare(finished)
        say(api.compare(finished, "markdown"))


def how_to_query(api_url: str, example: Path | None, api_key: str | None = None) -> str:
    clip = str(example) if example else "clip.wav"
    key = api_key or "<key>"
    return "\n".join([
        f"The API stays up at {api_url} (docs: {api_url}/docs). This run's admin API key (revoked when the "
        f"stack stops): {key}",
        "Ask the deployed student:",
        f"  export SIGHTSOUND_API_KEY={key}",
        f"  sightsound ask {clip} 'What is heard?' --choice 'A bell' --choice 'Speech' --api {api_url}",
        f"  curl -H \"Authorization: Bearer $SIGHTSOUND_API_KEY\" -F file=@{clip} -F question='What is heard?' "
        f"{api_url}/v1/student/answer",
        f"  OpenAI clients: base_url={api_url}/v1, api_key=the key, model='sightsound-student', audio as an "
        "input_audio part",
        "Ctrl-C stops the stack.",
    ])


def run_main_job(settings: Settings, options: MainJobOptions) -> int:
    from sightsound.db.migrate import upgrade
    from sightsound_ops.mainjob.report_inputs import write_report
    from sightsound_ops.mainjob.test_split import build_and_import
    from sightsound_ops.stack import Stack

    # SIGTERM unwinds like Ctrl-C, so the stack's processes (own sessions) are stopped, never orphaned.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    log = JobLog()
    options.workdir.mkdir(parents=True, exist_ok=True)
    with log.stage("database"):
        ensure_database(settings.database_url)
        upgrade(settings.database_url)
    with log.stage("synthetic set (real sounds and photos)"):
        sample = build_and_import(settings, options)
        say(f"    {len(sample.train)} train clips, {len(sample.test)} test questions imported "
            f"({sample.imported_summary})")
    stack = Stack(env=stack_env(settings, options), log_dir=options.log_dir, api_port=options.api_port)
    pin_threads(stack)
    try:
        with log.stage("start the stack (api, teacher, verifier, workers, student service)"):
            stack.start()
            stack.add_trainer_worker()
        api = ApiClient(stack.api_url, timeout_s=300, api_key=stack.api_key)
        with log.stage(f"teacher (K={options.traces_per_question}) and verifier on the train split"):
            jobs = wait_jobs(api, submit_train_split(api, sample.train), options.stage_timeout_s)
            states: dict[str, int] = {}
            for job in jobs:
                states[job["state"]] = states.get(job["state"], 0) + 1
            say(f"    jobs: {states}")
        with log.stage("datasets"):
            build_datasets(api, log)
        with log.stage(f"train the student ({options.student_model})"):
            train(api, options, log)
        with log.stage("evaluate before and after"):
            evaluate(api, options, log)
        example = Path(sample.test[0].path) if sample.test else None
        with log.stage("deploy and ask"):
            last = log.checkpoints.get("CoT SFT + GRPO") or next(iter(log.checkpoints.values()), None)
            if last is not None and example is not None:
                api.deploy(last)
                item = sample.test[0]
                answer = api.ask(example, item.question, item.choices)
                said = answer.get("answer_text") or f"no readable answer in {answer.get('text', '')[:80]!r}"
                say(f"    asked the deployed student about {example.name}: {item.question} -> {said} "
                    f"(gold {item.choices[item.answer_index]!r})")
        with log.stage("report"):
            path = write_report(api, settings, options, log)
            say(f"    report: {path.resolve()}")
            say(f"    review console: {stack.api_url}/ui (log in with the run's API key)"
                + ("" if options.keep_running else "; up while the API runs, so without --exit"))
        total = time.monotonic() - log.started
        say(f"\nThe main job took {total / 60:.1f} min. " + ("; ".join(log.notes) if log.notes else ""))
        if not options.keep_running:
            return 0
        say(how_to_query(stack.api_url, example, stack.api_key))
        stack.serve_until_interrupted()
        return 0
    finally:
        stack.stop()


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt
