from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from storage.uow import install_sqlite_unit_hooks

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_path(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    """An engine tuned for this workload.

    SQLite runs in WAL mode with a busy timeout so that the bot's short write transactions
    and the workers' claims wait for each other instead of failing with "database is locked".
    """
    if is_sqlite(url):
        _prepare_sqlite_path(url)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        # Each transaction opens as its unit asks (storage/uow.py): read-only, or
        # BEGIN IMMEDIATE for the process's one writer at a time.
        install_sqlite_unit_hooks(engine)
        _disable_pysqlite_autobegin(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    url, server_settings = _asyncpg_server_settings(url)
    parsed = make_url(url)
    schema = parsed.query.get("schema")
    if schema:
        # `?schema=name` keeps this app's tables in their own PostgreSQL schema (a shared
        # database, or one schema per test).
        parsed = parsed.difference_update_query(["schema"])
        server_settings["search_path"] = str(schema)
    if server_settings:
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("server_settings", {}).update(server_settings)
        kwargs["connect_args"] = connect_args
    return create_async_engine(parsed, echo=echo, **kwargs)


def _asyncpg_server_settings(url: str) -> tuple[str, dict[str, str]]:
    """asyncpg does not take libpq's `?options=-csearch_path=...`; pass such `-c name=value`
    settings as server settings instead, so one DATABASE_URL form works everywhere."""
    parsed = make_url(url)
    options = parsed.query.get("options")
    if parsed.get_driver_name() != "asyncpg" or not isinstance(options, str):
        return url, {}
    settings: dict[str, str] = {}
    for part in options.replace("-c ", "-c").split():
        if part.startswith("-c") and "=" in part:
            name, value = part[2:].split("=", 1)
            settings[name] = value
    rendered = parsed.difference_update_query(["options"]).render_as_string(hide_password=False)
    return rendered, settings


def _disable_pysqlite_autobegin(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (see the pysqlite docs on
        # "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_connection.isolation_level = None


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database_sync(url: str) -> None:
    from alembic import command

    if is_sqlite(url):
        _prepare_sqlite_path(url)
    command.upgrade(_alembic_config(url), "head")


async def upgrade_database(url: str) -> None:
    """Apply Alembic migrations up to head (runs the sync Alembic API in a thread)."""
    await asyncio.to_thread(upgrade_database_sync, url)


async def stored_revisions(url: str) -> set[str] | None:
    """The revisions in `alembic_version`, with one query and without Alembic; None when the
    table is not there (a new database) or cannot be read (Alembic decides then)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            try:
                rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:
                # Usually no such table (SQLite: OperationalError, PostgreSQL:
                # ProgrammingError); whatever it is, the upgrade path will say it properly.
                return None
            return {str(row[0]) for row in rows}
    finally:
        await engine.dispose()


async def ensure_schema(url: str) -> bool:
    """Migrate the database to head if it is behind; True when migrations ran.

    At a normal start the schema is current: one query answers that, and Alembic (about
    0.3 s and 12 MiB) is not imported at all. A new or older database is upgraded by Alembic;
    a revision this code does not know (a newer release ran here) makes Alembic fail loudly.
    """
    from storage.migrations import HEAD_REVISION

    if is_sqlite(url):
        _prepare_sqlite_path(url)
    if await stored_revisions(url) == {HEAD_REVISION}:
        return False
    await upgrade_database(url)
    return True
