"""Migrations: the stairway (every step goes up, down and up again), the schema they build
against the models, and the start-up check that needs no Alembic when the schema is current.

PostgreSQL runs when TEST_DATABASE_URL is set, each test in a fresh schema."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import (
    _alembic_config,
    create_engine,
    ensure_schema,
    stored_revisions,
    upgrade_database,
)
from storage.migrations import HEAD_REVISION
from storage.models import Base
from tests.conftest import PG_URL, _drop_pg_schema, _pg_schema_url, pg_url_with_schema


def _revisions() -> list[Script]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    return list(reversed(list(script.walk_revisions("base", "heads"))))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables at all): a SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    schema, dsn = asyncio.run(_pg_schema_url(PG_URL))
    try:
        yield pg_url_with_schema(PG_URL, schema)
    finally:
        asyncio.run(_drop_pg_schema(dsn, schema))


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await engine.dispose()
        return set(names)

    return asyncio.run(read())


def test_head_revision_constant_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    assert script.get_heads() == [HEAD_REVISION], (
        "a migration was added: set storage.migrations.HEAD_REVISION to its revision"
    )
    assert _revisions()[-1].revision == HEAD_REVISION


def test_migration_stairway(empty_url: str) -> None:
    """Each revision in order: upgrade to it, downgrade one step, upgrade again; at the end
    the whole way down leaves nothing but Alembic's own table."""
    config = _alembic_config(empty_url)
    revisions = _revisions()
    assert revisions, "no migrations found"
    for revision in revisions:
        command.upgrade(config, revision.revision)
        command.downgrade(config, revision.down_revision or "base")  # type: ignore[arg-type]
        command.upgrade(config, revision.revision)
    assert _tables(empty_url) >= {table.name for table in Base.metadata.sorted_tables}
    command.downgrade(config, "base")
    assert _tables(empty_url) <= {"alembic_version"}


def _schema_diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(empty_url: str) -> None:
    await upgrade_database(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(_schema_diff)
    finally:
        await engine.dispose()
    assert diff == [], "models and migrations disagree; autogenerate a migration:\n" + "\n".join(
        map(str, diff)
    )


async def test_ensure_schema_migrates_only_what_is_behind(empty_url: str) -> None:
    assert await stored_revisions(empty_url) is None  # a new database
    assert await ensure_schema(empty_url) is True
    assert await stored_revisions(empty_url) == {HEAD_REVISION}
    assert await ensure_schema(empty_url) is False  # current: one query, no Alembic

    # An older database (the previous release's schema) is brought up to head.
    first = _revisions()[0].revision
    await asyncio.to_thread(command.downgrade, _alembic_config(empty_url), first)
    assert await stored_revisions(empty_url) == {first}
    assert await ensure_schema(empty_url) is True
    assert await stored_revisions(empty_url) == {HEAD_REVISION}


async def test_ensure_schema_refuses_a_revision_it_does_not_know(empty_url: str) -> None:
    """A newer release migrated this database: the old code stops instead of running on it."""
    await upgrade_database(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'future'"))
    finally:
        await engine.dispose()
    with pytest.raises(Exception, match="future"):
        await ensure_schema(empty_url)
