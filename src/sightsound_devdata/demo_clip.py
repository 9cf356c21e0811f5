"""Clips the README demo and the end-to-end tests push through the pipeline (truth known by construction)."""

from __future__ import annotations

from pathlib import Path

from sightsound_devdata.clipgen import Silence, Speech, VideoSpec, make_clip

DEMO_QUESTION = "What can be heard in this clip?"
DEMO_CHOICES = ("A person speaking", "A dog barking", "Piano music", "Nothing at all")


def demo_clip(path: Path) -> Path:
    """About 3 s: a drawn scene with a caption, espeak-ng saying a sentence, then silence."""
    audio = Speech("The quick brown fox jumps over the lazy dog.") + Silence(0.8)
    video = VideoSpec(width=224, height=160, fps=10, caption="someone talks")
    return make_clip(path, video=video, audio=audio)


def silent_video_clip(path: Path, seconds: float = 2.0) -> Path:
    """A clip with no audio track at all."""
    return make_clip(path, video=VideoSpec(width=160, height=120, fps=10), audio=None, duration_s=seconds)
