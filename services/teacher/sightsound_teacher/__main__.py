"""``python -m sightsound_teacher --host 127.0.0.1 --port 8001``: serve the teacher with uvicorn."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from sightsound_teacher.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sightsound_teacher", description="Serve the SightSound teacher.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One process, one model: several workers would each load the model.
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
