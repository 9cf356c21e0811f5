"""Whole-file checks (not JSON, wrong top-level type) and the registry of benchmarks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightsound_ops.question_sources.items import BenchmarkFormatError, load_entries
from sightsound_ops.question_sources.registry import BENCHMARKS, UnknownBenchmark, get_benchmark
from tests.question_sources.conftest import FIXTURES


def test_non_json_file(tmp_path: Path) -> None:
    path = tmp_path / "avqa-test.json"
    path.write_text('[{"video_id": "1",\n  oops}]')
    with pytest.raises(BenchmarkFormatError, match=r"is not valid JSON: .* at line 2, column 3"):
        load_entries(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(BenchmarkFormatError, match="not UTF-8 text"):
        load_entries(path)


@pytest.mark.parametrize(
    ("text", "what"),
    [('{"data": []}', "a JSON object (keys: data)"), ('"hello"', "a JSON string"), ("3", "a JSON number"),
     ("null", "a JSON null")],
)
def test_wrong_top_level_type(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "q.json"
    path.write_text(text)
    with pytest.raises(BenchmarkFormatError, match="expected a JSON array of entries") as err:
        load_entries(path)
    assert what in str(err.value)


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_bytes("\ufeff[]".encode())
    assert load_entries(path) == []


@pytest.mark.parametrize(
    ("name", "fixture", "media"),
    [("mmau-test-mini", "mmau-test-mini.json", "audio"), ("music-avqa", "avqa-test.json", "video"),
     ("avqa", "val_qa.json", "video"), ("mmar", "MMAR-meta.json", "audio")],
)
def test_registry_parses_each_fixture(name: str, fixture: str, media: str) -> None:
    spec = get_benchmark(name)
    assert spec.media == media and spec.name == name
    parsed = spec.parse(load_entries(FIXTURES / fixture), Path("/m"))
    assert parsed.items and not [p for p in parsed.problems if p.kind == "malformed"]
    assert all(str(i.media_path).startswith("/m/") for i in parsed.items)


def test_unknown_benchmark_names_the_known_ones() -> None:
    with pytest.raises(UnknownBenchmark, match="known: avqa, mmar, mmau-test-mini, music-avqa"):
        get_benchmark("mmau-test")
    assert sorted(BENCHMARKS) == ["avqa", "mmar", "mmau-test-mini", "music-avqa", "sightsound-synthetic"]
