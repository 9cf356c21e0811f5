"""The trainer service: dataset batching, SFT (LoRA) and audio GRPO for the student.

Not built yet: it is the trainer issue's work. The schema it writes (datasets, training_runs,
checkpoints, evaluations) exists in ``sightsound.db.models`` already, and the Celery ``train`` queue is
declared; nothing consumes it with a task until the trainer lands.
"""
