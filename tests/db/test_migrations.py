"""Alembic migrations: they match the ORM models, and go down and up again cleanly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from sightsound.db.migrate import downgrade, upgrade
from sightsound.db.models import Base
from tests.conftest import PG_ADMIN_URL


@pytest.fixture
def scratch_url() -> Iterator[str]:
    name = f"sightsound_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_downgrade_to_base_and_upgrade_again(scratch_url: str) -> None:
    upgrade(scratch_url)
    downgrade(scratch_url, "base")
    engine = create_engine(scratch_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(scratch_url)
    engine = create_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"clips", "questions", "jobs", "traces", "claims", "verdicts", "trace_decisions", "datasets",
            "training_runs", "checkpoints", "evaluations"} <= tables
