"""The soak of issue 12 at full size: uploads from concurrent clients while PostgreSQL and Redis restart.

    python perf/soak.py                                   # 200 uploads, 20 clients; perf/results/soak-cpu.json
    python perf/soak.py --uploads 60 --clients 10 --out -  # CI's size (tests/e2e/test_soak.py), printed

It makes a database of its own (from ``SIGHTSOUND_TEST_PG_ADMIN_URL``, default the local ``postgres``), migrates
it, runs :func:`sightsound_ops.soak.run_soak` in a temporary folder (logs kept with ``--keep``) and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sightsound.db.migrate import upgrade
from sightsound.db.session import get_engine
from sightsound_ops.soak import run_soak

ADMIN_URL = os.environ.get("SIGHTSOUND_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--clips", type=int, default=40, help="distinct clips the uploads cycle through")
    parser.add_argument("--down-s", type=float, default=4.0, help="how long each outage lasts")
    parser.add_argument("--out", default="perf/results/soak-cpu.json", help="'-' prints the JSON")
    parser.add_argument("--keep", type=Path, default=None, help="run in this folder and keep it (logs)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("SIGHTSOUND_SERVICE_TOKEN", uuid.uuid4().hex)
    name = f"sightsound_soak_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            result = run_soak(url, args.keep, uploads=args.uploads, clients=args.clients,
                              distinct_clips=args.clips, down_s=args.down_s)
        else:
            with tempfile.TemporaryDirectory(prefix="soak-") as work:
                result = run_soak(url, Path(work), uploads=args.uploads, clients=args.clients,
                                  distinct_clips=args.clips, down_s=args.down_s)
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    payload = json.dumps(result, indent=2, default=str)
    if args.out == "-":
        print(payload)
    else:
        Path(args.out).write_text(payload + "\n")
        print(f"wrote {args.out}")
    ok = (result["jobs_terminal"] == result["uploads"] and "failed" not in result["states"]
          and not any(result["duplicates"].values()) and result["orphans_after_collector"] == 0
          and not result["worker_crashes"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
