"""The student service: answers questions with the deployed checkpoint (REST and the OpenAI protocol).

- ``app``: the FastAPI app (``python -m sightsound_student``): ``POST /v1/answer``, the OpenAI
  ``POST /v1/chat/completions`` and ``GET /v1/models``, health, readiness, metrics;
- ``students``: resolving a model name in PostgreSQL (``deployed`` on every request), loading, answering;
  ``cache``: the thread-safe LRU of loaded students (one load per reference, however many requests wait);
- ``audio_input``: base64 or media-store audio to 16 kHz samples, with limits; ``chat``, ``lettered`` and
  ``openai_protocol``: the OpenAI protocol and the pure rules that turn a chat request into one query;
  ``catalog``: the model list.
"""
