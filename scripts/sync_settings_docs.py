"""Rewrite the README's settings table and add missing variables to `.env.example` from `Settings`.

Run after adding or changing a setting: `.venv/bin/python scripts/sync_settings_docs.py`
(tests/architecture fails while either is stale).
"""

from __future__ import annotations

import json
from pathlib import Path

from sightsound.config import Settings
from sightsound_ops.cli import settings_markdown

ROOT = Path(__file__).resolve().parent.parent


def sync_readme() -> None:
    readme = ROOT / "README.md"
    lines = readme.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Variable") or line.startswith("| variable"))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines[start:end] = settings_markdown().splitlines()
    readme.write_text("\n".join(lines) + "\n")


def sync_env_example() -> None:
    path = ROOT / ".env.example"
    text = path.read_text()
    defaults = Settings.model_construct().model_dump(mode="json")
    added = []
    for name, field in Settings.model_fields.items():
        variable = f"SIGHTSOUND_{name.upper()}"
        if f"{variable}=" in text:
            continue
        value = defaults.get(name)
        shown = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        added.append(f"# {field.description or name}\n{variable}={shown}")
    if added:
        path.write_text(text.rstrip("\n") + "\n" + "\n".join(added) + "\n")


if __name__ == "__main__":
    sync_readme()
    sync_env_example()
