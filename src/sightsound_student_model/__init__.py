"""The student model library the trainer and the student service both import (neither imports the other).

- ``student`` (the :class:`Student` bundle, LoRA), ``loading`` (by name: ``tiny-random``, ``embedded``,
  a Qwen2-Audio folder or hub id), ``embedded`` + ``whisper_encoder`` (the offline CPU student assembled
  from shipped weights), ``tiny`` (the random test model);
- ``batches`` (audio + chat prompt -> model inputs), ``checkpoints`` (save / load adapters),
  ``inference`` (answer questions with a checkpoint), ``generation`` (audio-token suppression).
"""
