"""The pipeline worker: ``celery -A sightsound_worker.app worker -Q ingest,reason,verify`` (and ``beat``).

- ``pipeline``: the stages declared as data (name = queue, the job states each runs from, what follows);
- ``stages``: ingest, reason, verify: idempotent functions under the job's lock, called by the tasks and
  directly by tests; ``records``: their rows; ``states``: the job state machine (pure);
- ``tasks``: the Celery tasks (retries on transient errors, then the next stage); ``reaper``: re-sends
  jobs whose message was lost, from what PostgreSQL says.
"""
