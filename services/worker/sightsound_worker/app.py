"""Entry point of the Celery worker: ``celery -A sightsound_worker.app worker -Q ingest,reason,verify``."""

from __future__ import annotations

import logging

from sightsound.tasks.app import celery_app
from sightsound_worker import tasks as _tasks  # noqa: F401  (registers the tasks)

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = celery_app
