"""Loading the student (a Qwen2-Audio-family model with its processor) and giving it LoRA adapters.

``name`` is a local model folder, a Hugging Face hub id (loaded the usual ``from_pretrained`` way; set
``HF_HUB_OFFLINE=1`` where there is no network), ``tiny-random`` for the tiny random student of
:mod:`sightsound_student_model.tiny`, or ``embedded`` for the offline CPU student of
:mod:`sightsound_student_model.embedded` (pretrained Whisper tiny.en encoder and SmolLM2-135M-Instruct, a new
projector). A name that does not load raises :class:`StudentLoadError` with the reason,
quickly: a run that cannot get its student fails, it never hangs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel, PreTrainedTokenizerBase, Qwen2AudioForConditionalGeneration
from transformers.models.qwen2_audio.modeling_qwen2_audio import Qwen2AudioCausalLMOutputWithPast

from sightsound.contracts.training import LoRASettings
from sightsound_student_model import tiny

log = logging.getLogger(__name__)

PROJECTOR = "multi_modal_projector"
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")
EMBEDDED_MODEL_ID = "embedded"
#: Config key: ``False`` runs the audio encoder over the padded window unmasked, as Whisper was trained
#: (the embedded student sets it; Qwen2-Audio's default, masking the padded frames, is ``True``).
MASK_AUDIO_PADDING = "mask_audio_padding"


def _unmask_audio(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Forward pre-hook of the audio tower: drop the padding mask Qwen2-Audio builds."""
    return args, {**kwargs, "attention_mask": None}


class AudioStudent(Qwen2AudioForConditionalGeneration):  # type: ignore[no-untyped-call]
    """``Qwen2AudioForConditionalGeneration`` whose forward takes ``logits_to_keep``, as the text models do.

    ``generate`` then asks for the last position's logits only: without it, the prefill of a rollout
    applies the vocabulary head to every prompt position (hundreds of audio tokens × the group size),
    which on the tiny student is most of the sampling time and on a 7B student tens of TFLOPs per step.
    Weights and config are those of the parent class: checkpoints load in either. A config with
    ``mask_audio_padding`` false (:data:`MASK_AUDIO_PADDING`) runs the audio encoder unmasked.
    """

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        if getattr(config, MASK_AUDIO_PADDING, True) is False:
            self.model.audio_tower.register_forward_pre_hook(_unmask_audio, with_kwargs=True)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int = 0,
        **kwargs: Any,
    ) -> Any:
        inputs: dict[str, Any] = {
            "input_ids": input_ids,
            "input_features": input_features,
            "attention_mask": attention_mask,
            "feature_attention_mask": feature_attention_mask,
            "position_ids": position_ids,
            "past_key_values": past_key_values,
            "inputs_embeds": inputs_embeds,
            "use_cache": use_cache,
            **kwargs,
        }
        if not logits_to_keep or labels is not None:
            return super().forward(labels=labels, **inputs)
        outputs = self.model(**inputs)
        logits = self.lm_head(outputs.last_hidden_state[:, -logits_to_keep:])
        return Qwen2AudioCausalLMOutputWithPast(
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            attention_mask=outputs.attention_mask,
        )


class StudentLoadError(RuntimeError):
    """The student model or its processor could not be loaded; the message says why."""


@dataclass
class Student:
    """The student model with everything the loops need to feed and sample it."""

    model: Any  # Qwen2AudioForConditionalGeneration, or a PeftModel around it
    processor: Any  # Qwen2AudioProcessor
    name: str
    audio_token_ids: tuple[int, ...] = field(default_factory=tuple)
    stop_token_ids: tuple[int, ...] = field(default_factory=tuple)
    pad_token_id: int = 0

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        tokenizer: PreTrainedTokenizerBase = self.processor.tokenizer
        return tokenizer

    @property
    def uses_lora(self) -> bool:
        return isinstance(self.model, PeftModel)

    @property
    def core(self) -> Qwen2AudioForConditionalGeneration:
        """The ``Qwen2AudioForConditionalGeneration`` itself (inside the adapters, if any)."""
        core = self.model.get_base_model() if isinstance(self.model, PeftModel) else self.model
        return cast(Qwen2AudioForConditionalGeneration, core)


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).exists()


def _special_ids(tokenizer: PreTrainedTokenizerBase, tokens: tuple[str, ...]) -> tuple[int, ...]:
    ids = []
    for token in tokens:
        found = tokenizer.convert_tokens_to_ids(token)
        if isinstance(found, int) and found != tokenizer.unk_token_id and found >= 0:
            ids.append(found)
    return tuple(dict.fromkeys(ids))


def student_from_parts(model: Any, processor: Any, name: str) -> Student:
    """A :class:`Student` around a model and processor built elsewhere (benchmarks, custom assemblies)."""
    return _finish(model, processor, name)


def _finish(model: Any, processor: Any, name: str) -> Student:
    tokenizer = processor.tokenizer
    audio_ids = _special_ids(tokenizer, tiny.AUDIO_TOKENS)
    if model.config.audio_token_id not in audio_ids:
        audio_ids = (*audio_ids, int(model.config.audio_token_id))
    stop_ids = _special_ids(tokenizer, STOP_TOKENS)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stop_ids:
        stop_ids = (*stop_ids, int(tokenizer.eos_token_id))
    if not stop_ids:
        raise StudentLoadError(f"the tokenizer of {name!r} has no end-of-turn or end-of-text token")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    return Student(model, processor, name, audio_ids, stop_ids, int(pad))


def language_model_targets(modules: list[str]) -> str:
    """A regex naming the language model's linear layers ``modules`` (never the audio encoder's).

    >>> import re; pattern = language_model_targets(["q_proj", "v_proj"])
    >>> bool(re.fullmatch(pattern, "model.language_model.layers.0.self_attn.q_proj"))
    True
    >>> bool(re.fullmatch(pattern, "model.audio_tower.layers.0.self_attn.q_proj"))
    False
    """
    names = "|".join(re.escape(m) for m in modules)
    return rf".*language_model\..*\.({names})"


def add_lora(model: PreTrainedModel, settings: LoRASettings) -> PeftModel:
    """Wrap ``model`` with fresh LoRA adapters on its language model (and a trainable projector copy)."""
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=language_model_targets(settings.target_modules),
        modules_to_save=([PROJECTOR] if settings.train_projector else []) + settings.extra_trainable_modules or None,
    )
    peft_model: PeftModel = get_peft_model(model, config)
    return peft_model


def prepare_full_finetuning(model: PreTrainedModel) -> PreTrainedModel:
    """Full fine-tuning: the language model and projector train, the audio encoder stays frozen."""
    for name, param in model.named_parameters():
        param.requires_grad_(".audio_tower." not in f".{name}")
    return model


def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]
