"""SightSound verifier: extracts a trace's sound claims, checks them against the clip's audio, decides.

Layers, from pure to I/O:

- ``claims`` / ``free_text``: text -> claims (pure).
- ``speech`` / ``loudness``: numpy arrays -> measurements (no I/O; silero-vad loaded once per process).
- ``analysis``: per-clip memo of those measurements, so N claims cost one analysis.
- ``checkers`` / ``ensemble`` / ``router``: claim + analysis -> verdicts -> final verdict.
- ``policy``: final verdicts -> accept / reject with human-readable reasons (pure).
- ``verification``: glues the above for one request; ``audio``: URL -> samples.
- ``app`` (+ ``metrics``, ``__main__``): HTTP, Prometheus counters, ``python -m sightsound_verifier``.
"""
