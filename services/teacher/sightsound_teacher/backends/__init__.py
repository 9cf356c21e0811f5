"""Teacher backends: one interface, interchangeable implementations chosen by settings."""

from __future__ import annotations

from sightsound.config import Settings, secret_value
from sightsound_teacher.backends.base import BackendInputError, BackendUpstreamError, Generation, TeacherBackend

__all__ = [
    "BackendInputError",
    "BackendUpstreamError",
    "Generation",
    "TeacherBackend",
    "backend_from_settings",
    "make_backend",
]


def make_backend(
    name: str, model_id: str, *, device: str = "auto", structured: bool = True, decode: str = "eager"
) -> TeacherBackend:
    """A local backend by name (``transformers`` or ``embedded``); it is not loaded yet."""
    if name == "transformers":
        from sightsound_teacher.backends.transformers_backend import TransformersBackend

        return TransformersBackend(
            model_id,
            device=device,
            structured=structured,
            decode="graphs" if decode == "graphs" else "compiled" if decode == "compiled" else "eager",
        )
    if name == "embedded":
        from sightsound_teacher.backends.embedded_backend import EmbeddedBackend

        return EmbeddedBackend(device=device, structured=structured)
    raise ValueError(f"unknown teacher backend {name!r}")


def backend_from_settings(settings: Settings) -> TeacherBackend:
    """The backend that ``settings.teacher_backend`` names, configured from the settings; not loaded yet."""
    if settings.teacher_backend == "openai":
        from sightsound_teacher.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(
            settings.teacher_openai_base_url,
            settings.teacher_openai_model,
            api_key=secret_value(settings.teacher_openai_api_key),
            timeout_s=settings.teacher_openai_timeout_s,
            max_retries=settings.teacher_openai_max_retries,
            backoff_s=settings.teacher_openai_backoff_s,
            frames=settings.teacher_openai_frames,
            structured=settings.teacher_openai_structured,
            flavor=settings.teacher_openai_flavor,
            tags_per_frame=settings.teacher_embedded_tags,
        )
    if settings.teacher_backend == "embedded":
        from sightsound_teacher.backends.embedded_backend import EmbeddedBackend

        return EmbeddedBackend(
            device=settings.teacher_device,
            structured=settings.teacher_structured,
            tags_per_frame=settings.teacher_embedded_tags,
        )
    return make_backend(
        settings.teacher_backend,
        settings.teacher_model,
        device=settings.teacher_device,
        structured=settings.teacher_structured,
        decode=settings.teacher_decode,
    )
