"""``python -m sightsound_trainer.serving --host 127.0.0.1 --port 8004``: serve the student with uvicorn."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from sightsound_trainer.serving.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sightsound_trainer.serving", description="Serve the SightSound student.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8004)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One process: several uvicorn workers would each load their own students.
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
