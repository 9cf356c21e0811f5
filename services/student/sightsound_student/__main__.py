"""``python -m sightsound_student --host 127.0.0.1 --port 8004``: serve the student with uvicorn."""

from __future__ import annotations

from sightsound.web import serve
from sightsound_student.app import create_app


def main(argv: list[str] | None = None) -> None:
    serve(create_app, "sightsound_student", "Serve the SightSound student.", 8004, argv)


if __name__ == "__main__":
    main()
