"""``python -m sightsound_teacher --host 127.0.0.1 --port 8001``: serve the teacher with uvicorn."""

from __future__ import annotations

from sightsound.web import serve
from sightsound_teacher.app import create_app


def main(argv: list[str] | None = None) -> None:
    serve(create_app, "sightsound_teacher", "Serve the SightSound teacher.", 8001, argv)


if __name__ == "__main__":
    main()
