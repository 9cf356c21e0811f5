"""Pydantic contracts between the services: the only shapes that cross a service boundary."""
