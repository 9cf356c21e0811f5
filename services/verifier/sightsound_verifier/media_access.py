"""Which audio URLs the verifier may read: the media store's only. The rule lives in the shared package
(:mod:`sightsound.media.access`), so the student service applies exactly the same one."""

from __future__ import annotations

from sightsound.media.access import AudioURLRefusedError, allowed_audio_url, local_root, remote_root

__all__ = ["AudioURLRefusedError", "allowed_audio_url", "local_root", "remote_root"]
