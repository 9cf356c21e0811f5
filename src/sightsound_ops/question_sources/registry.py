"""Benchmark name -> parser, media kind and naming: the benchmarks ``import_benchmark`` knows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sightsound_ops.question_sources import avqa, mmar, mmau, music_avqa, synthetic
from sightsound_ops.question_sources.items import ParsedBenchmark

Parser = Callable[[list[Any], Path], ParsedBenchmark]


@dataclass(frozen=True)
class Benchmark:
    name: str  # also the ``source`` of its imported questions
    parse: Parser
    media: Literal["audio", "video"]  # audio: audio-only clips (no frames); video: the video ingest path
    question_file: str  # the file users pass, as the benchmark ships it
    media_field: str  # the entry field that names the media file
    media_naming: str  # where the parser looks for each item's media, for error messages and docs


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(mmau.NAME, mmau.parse, "audio", "mmau-test-mini.json", "audio_id",
                  "<media_dir>/<audio_id> or <media_dir>/<audio file name>"),
        Benchmark(mmar.NAME, mmar.parse, "audio", "MMAR-meta.json or MMAR-meta.jsonl", "audio_path",
                  "<media_dir>/<audio_path> or <media_dir>/<audio file name>"),
        Benchmark(music_avqa.NAME, music_avqa.parse, "video", "avqa-test.json", "video_id",
                  "<media_dir>/<video_id>.mp4"),
        Benchmark(avqa.NAME, avqa.parse, "video", "val_qa.json", "video_name", "<media_dir>/<video_name>.mp4"),
        Benchmark(synthetic.NAME, synthetic.parse, "video", "test-questions.json", "path", "<media_dir>/<path>"),
    )
}


class UnknownBenchmark(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_benchmark(name: str) -> Benchmark:
    """
    >>> get_benchmark("avqa").media
    'video'
    >>> get_benchmark("mmau")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.registry.UnknownBenchmark: unknown benchmark 'mmau'; known: ...
    """
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise UnknownBenchmark(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}") from None
