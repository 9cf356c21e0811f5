"""The trainer service: dataset batching, SFT (LoRA) and audio GRPO for the student, as Celery training runs.

- ``worker`` / ``tasks``: the Celery task ``sightsound.train_run`` on the ``train`` queue (the API sends it by
  name); ``runner`` claims a run in PostgreSQL, trains its stages and records how it ended; ``run_records``
  holds the run's rows (progress, cancel flag, checkpoints).
- ``sft`` and ``grpo``: the two loops, each a setup, a step function and a resumable loop, on accelerate
  (one process, or DDP under ``torchrun`` via ``launch``); ``scoring`` puts the audio in every forward pass;
  ``rollouts`` samples with the audio special tokens suppressed; ``objective`` and ``rewards`` are pure.
- ``evaluation``: the ``sightsound.evaluate`` task on the ``evaluate`` queue.

The student itself (loading, batching, checkpoints, inference) is :mod:`sightsound_student_model`, shared
with the student service.
"""
