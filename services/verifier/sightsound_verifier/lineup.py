"""Which checkers run, from the settings: the acoustic analyzers always, an audio LLM when configured."""

from __future__ import annotations

from sightsound.config import Settings, secret_value
from sightsound_verifier.checkers import (
    Checker,
    LoudnessChecker,
    SilenceChecker,
    SoundPresenceChecker,
    SpeechPresenceChecker,
)
from sightsound_verifier.music_checks import music_checker, singing_checker, speech_checker
from sightsound_verifier.order_checks import OrderChecker
from sightsound_verifier.pitch_checks import PitchChecker
from sightsound_verifier.relation_checks import v2_checkers
from sightsound_verifier.rhythm_checks import EventCountChecker, TempoChecker
from sightsound_verifier.speech_content import SpeechContentChecker


def acoustic_checkers() -> list[Checker]:
    """Every acoustic analyzer, offline on CPU; together they cover every claim kind but ``other``'s sources."""
    return [
        SpeechContentChecker(),  # first: for a content claim its reason is the one shown when undecided
        SpeechPresenceChecker(),
        speech_checker(),
        SilenceChecker(),
        LoudnessChecker(),
        SoundPresenceChecker(),
        music_checker(),
        singing_checker(),
        PitchChecker(),
        EventCountChecker(),
        TempoChecker(),
        OrderChecker(),
        *v2_checkers(),
    ]


def audio_llm_checker(settings: Settings) -> Checker | None:
    """The configured audio-LLM checker, or ``None`` when ``verifier_audio_llm`` is ``off``."""
    if settings.verifier_audio_llm == "openai":
        from sightsound_verifier.llm_openai import OpenAIAudioChecker

        return OpenAIAudioChecker(
            settings.verifier_llm_url,
            settings.verifier_llm_model,
            audio_part_kind=settings.verifier_llm_audio_part,
            api_key=secret_value(settings.verifier_llm_api_key),
            timeout_s=settings.verifier_llm_timeout_s,
            max_retries=settings.verifier_llm_max_retries,
            max_claims=settings.verifier_llm_max_claims,
            max_tokens=settings.verifier_llm_max_new_tokens,
        )
    if settings.verifier_audio_llm == "transformers":
        from sightsound_verifier.llm_transformers import TransformersAudioChecker

        return TransformersAudioChecker(
            settings.verifier_llm_model,
            device=settings.verifier_llm_device,
            max_new_tokens=settings.verifier_llm_max_new_tokens,
            max_claims=settings.verifier_llm_max_claims,
        )
    return None


def build_checkers(settings: Settings) -> list[Checker]:
    """Acoustic analyzers first (they win confidence ties), then the audio LLM if one is on."""
    checkers = acoustic_checkers()
    llm = audio_llm_checker(settings)
    return checkers if llm is None else [*checkers, llm]
