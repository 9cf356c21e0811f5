"""Entry point of the Celery worker: ``celery -A sightsound.worker worker -Q ingest,reason,verify``."""

from __future__ import annotations

import logging

from sightsound.celery_app import celery_app
from sightsound.pipeline import tasks as _tasks  # noqa: F401  (registers the tasks)

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = celery_app
