"""The environment the services this process starts run in."""

from __future__ import annotations

import os
from pathlib import Path

from sightsound.config import Settings


def service_env(settings: Settings) -> dict[str, str]:
    """This process's environment for the services it starts: offline hub, absolute media root."""
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["SIGHTSOUND_MEDIA_ROOT"] = str(Path(settings.media_root).resolve())
    return env
