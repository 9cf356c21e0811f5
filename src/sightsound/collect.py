"""Collecting what was stored without a row pointing to it (local media root and dataset root).

Files are stored before their row is committed (an upload's original, a student upload's 16 kHz audio, a
dataset's export), so a request that fails in between, or a student upload (which never gets a row), leaves a
file behind. :func:`collect_orphans` deletes every such file older than ``orphan_grace_s`` (younger ones may
belong to a request still in flight): originals and audio that no clip references, dataset exports that no
dataset references, and upload work folders left by a crash. Beat runs it periodically (the worker's
``sightsound.collect_orphans``). Object stores (``s3://``…) are left to their own lifecycle rules.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from sqlalchemy import select

from sightsound.config import Settings
from sightsound.db.models import Clip, Dataset
from sightsound.db.session import session_scope
from sightsound.registry import url_path

log = logging.getLogger(__name__)


def _old(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _local(root: Path | str) -> Path | None:
    return None if "://" in str(root) else Path(root).resolve()


def collect_orphans(settings: Settings, now: float | None = None) -> dict[str, int]:
    """Delete unreferenced stored files older than ``orphan_grace_s``; how many of each kind went."""
    cutoff = (time.time() if now is None else now) - settings.orphan_grace_s
    report = {"originals": 0, "audio": 0, "datasets": 0, "tmp": 0}
    with session_scope(settings.database_url) as session:
        referenced = {url_path(u).resolve() for u, in session.execute(select(Clip.media_url)) if u}
        referenced |= {url_path(u).resolve() for u, in session.execute(select(Clip.audio_url)) if u}
        exports = {url_path(u).resolve() for u, in session.execute(select(Dataset.export_url)) if u}
    media = _local(settings.media_root)
    if media is not None:
        for kind in ("originals", "audio"):
            for path in (media / kind).glob("*/*"):
                if path.is_file() and path.resolve() not in referenced and _old(path, cutoff):
                    path.unlink(missing_ok=True)
                    report[kind] += 1
        for path in (media / "tmp").glob("*"):
            if not _old(path, cutoff):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            report["tmp"] += 1
    datasets = _local(settings.dataset_root)
    if datasets is not None:
        for folder in datasets.glob("*/v*"):
            if folder.is_dir() and folder.resolve() not in exports and _old(folder, cutoff):
                shutil.rmtree(folder, ignore_errors=True)
                report["datasets"] += 1
    if any(report.values()):
        log.warning("collected orphaned files: %s", report)
    return report
