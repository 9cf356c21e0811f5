"""Run the doctests of the verifier's pure modules (the configured test path covers only ``tests/``)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from sightsound_verifier import claims, ensemble, free_text, loudness, policy


@pytest.mark.parametrize("module", [claims, free_text, ensemble, policy, loudness], ids=lambda m: m.__name__)
def test_module_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no doctest"
    assert result.failed == 0
