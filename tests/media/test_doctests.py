"""Runs the doctests of the media modules (pytest collects only tests/ by default)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from sightsound.media import ingest, isobmff, probe


@pytest.mark.parametrize("module", [ingest, isobmff, probe], ids=lambda m: m.__name__)
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
