"""Entry point of the trainer workers: ``celery -A sightsound_trainer.worker worker -Q train --concurrency 1`` and
another pool with ``-Q evaluate`` (compose's ``trainer`` and ``evaluator``), so a long run never holds up evaluations.

It runs training runs (queue ``train``) and evaluations (queue ``evaluate``), one task at a time per worker
(``--concurrency 1``; Celery's prefetch multiplier is 1). Use ``--max-tasks-per-child 1`` so each run or
evaluation gets a fresh process and gives all its GPU memory back.
"""

from __future__ import annotations

import logging

from sightsound.tasks.app import celery_app
from sightsound_trainer import tasks as _tasks  # noqa: F401  (registers sightsound.train_run)
from sightsound_trainer.evaluation import tasks as _evaluation_tasks  # noqa: F401  (registers sightsound.evaluate)

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = celery_app
