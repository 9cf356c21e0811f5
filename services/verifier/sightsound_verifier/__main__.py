"""``python -m sightsound_verifier --host 127.0.0.1 --port 8002``: serve the verifier with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from sightsound_verifier.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sightsound_verifier", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
