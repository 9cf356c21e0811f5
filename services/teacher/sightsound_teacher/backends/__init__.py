"""Teacher backends: one interface, interchangeable implementations chosen by settings."""

from __future__ import annotations

from sightsound_teacher.backends.base import BackendInputError, Generation, TeacherBackend

__all__ = ["BackendInputError", "Generation", "TeacherBackend", "make_backend"]


def make_backend(name: str, model_id: str, *, device: str = "auto", structured: bool = True) -> TeacherBackend:
    """The backend named by settings (``teacher_backend``); it is not loaded yet."""
    if name == "transformers":
        from sightsound_teacher.backends.transformers_backend import TransformersBackend

        return TransformersBackend(model_id, device=device, structured=structured)
    raise ValueError(f"unknown teacher backend {name!r}")
