"""Run a Python module with every SQLAlchemy statement counted: ``python perf/statements.py -m MODULE ARGS...``.

Each process (a prefork worker's children included) writes its running count to
``$SIGHTSOUND_PERF_STATEMENTS_DIR/<pid>.json`` twice a second; ``perf/pipeline.py`` sums the files.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

OUT = Path(os.environ["SIGHTSOUND_PERF_STATEMENTS_DIR"])
_state: dict[str, Any] = {"count": 0, "pid": None}
_lock = threading.Lock()


def _writer(pid: int) -> None:
    path = OUT / f"{pid}.json"
    while True:
        time.sleep(0.5)
        if os.getpid() != pid:
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": pid, "statements": _state["count"]}))
        tmp.replace(path)


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_: Any) -> None:
    pid = os.getpid()
    if _state["pid"] != pid:  # first statement of this process (or of a forked child)
        _state["pid"], _state["count"] = pid, 0
        threading.Thread(target=_writer, args=(pid,), daemon=True).start()
    with _lock:
        _state["count"] += 1


def total(folder: Path) -> int:
    return sum(json.loads(p.read_text())["statements"] for p in folder.glob("*.json"))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) < 3 or sys.argv[1] != "-m":
        raise SystemExit("usage: statements.py -m MODULE [ARGS...]")
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
