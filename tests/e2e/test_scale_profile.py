"""The scale profile of docker-compose.yml, checked without a Docker engine: the file is valid
Compose (the Compose Specification's JSON schema, vendored in tests/data), its services are
wired as the README says, and the commands its services run work when started here.

Also the two things moving to that profile needs: migrations that several processes may
start at once, and `python -m bot migrate-data` from SQLite into an empty PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from sqlalchemy import func, select

from storage.db import create_engine, create_session_factory, upgrade_database
from storage.models import Content, PostStatus, ScheduledPost, Target, User
from storage.transfer import TargetNotEmptyError, copy_database
from tests.conftest import PG_URL, TEST_TOKEN, _drop_pg_schema, _pg_schema_url, pg_url_with_schema
from tests.e2e.test_process import free_port, wait_for_health
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import utcnow

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def test_compose_file_is_valid_compose() -> None:
    if shutil.which("docker") and _docker_compose_available():
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "--profile", "scale", "config", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "POSTGRES_PASSWORD": "x"},
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(compose()), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def _docker_compose_available() -> bool:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_scale_profile_services() -> None:
    services = compose()["services"]
    # The default `docker compose up` is the single SQLite process.
    assert "profiles" not in services["bot"]
    for name in ("worker", "postgres", "redis"):
        assert services[name]["profiles"] == ["scale"], name
    # Datastores: a health check the others wait for, and a named volume that outlives them.
    volumes = compose()["volumes"]
    for name in ("postgres", "redis"):
        service = services[name]
        assert service["healthcheck"]["test"][0] == "CMD"
        mounted = service["volumes"][0].split(":")[0]
        assert mounted in volumes
    assert "${POSTGRES_PASSWORD:?" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    worker = services["worker"]
    assert worker["command"] == ["python", "-m", "bot", "--mode", "workers"]
    for dependency in ("postgres", "redis"):
        assert worker["depends_on"][dependency]["condition"] == "service_healthy"
        # The bot waits for them too, but only when the profile runs them.
        assert services["bot"]["depends_on"][dependency]["required"] is False
    # Workers publish nothing to a port (`--scale` would collide) and share DATA_DIR.
    assert "ports" not in worker
    assert any(volume.endswith(":/app/data") for volume in worker["volumes"])


def test_datastore_health_checks_pass_against_real_servers() -> None:
    services = compose()["services"]
    pg_check = services["postgres"]["healthcheck"]["test"][1:]
    redis_check = services["redis"]["healthcheck"]["test"][1:]
    if not shutil.which(pg_check[0]) or not shutil.which(redis_check[0]):
        pytest.skip("pg_isready / redis-cli are not installed here")
    # Inside Compose they reach the server over its own socket; here over loopback.
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432"}
    pg = subprocess.run(pg_check, capture_output=True, text=True, timeout=30, env=env)
    assert pg.returncode == 0, pg.stdout + pg.stderr
    redis = subprocess.run(
        [*redis_check[:1], "-h", "127.0.0.1", *redis_check[1:]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert redis.stdout.strip() == "PONG", redis.stdout + redis.stderr


@pytest.mark.postgres
@pytest.mark.slow
async def test_worker_service_command_runs_on_postgres_and_redis(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    """The worker service's own command, with the profile's kind of environment, on a new
    PostgreSQL schema: two replicas start at once (both migrate), serve /health, stop on
    SIGTERM with exit code 0."""
    if not PG_URL:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    worker = compose()["services"]["worker"]
    command = [sys.executable if part == "python" else part for part in worker["command"]]
    schema, dsn = await _pg_schema_url(PG_URL)
    processes: list[asyncio.subprocess.Process] = []
    try:
        ports = [free_port(), free_port()]
        for port in ports:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE"))}
            env.update({k: str(v) for k, v in worker["environment"].items()})
            env.update(
                {
                    "BOT_TOKEN": TEST_TOKEN,
                    "TELEGRAM_API_BASE": fake_tg.base_url,
                    "DATABASE_URL": pg_url_with_schema(PG_URL, schema),
                    "REDIS_URL": "redis://127.0.0.1:6379/0",
                    "DATA_DIR": str(tmp_path / "data"),
                    "HEALTH_HOST": "127.0.0.1",
                    "HEALTH_PORT": str(port),
                    "PYTHONPATH": str(ROOT),
                }
            )
            processes.append(
                await asyncio.create_subprocess_exec(
                    *command,
                    cwd=tmp_path,
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
        for port, process in zip(ports, processes, strict=True):
            body = await wait_for_health(port, process)
            assert body["scheduled_posts_worker"]["is_running"] is True
    finally:
        outputs = []
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            printed, _ = await asyncio.wait_for(process.communicate(), 30)
            outputs.append(printed.decode())
        await _drop_pg_schema(dsn, schema)
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert TEST_TOKEN not in output


@pytest.mark.postgres
async def test_migrations_started_by_several_processes_at_once() -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    schema, dsn = await _pg_schema_url(PG_URL)
    url = pg_url_with_schema(PG_URL, schema)
    try:
        # Separate processes, as replicas are (Alembic's API is not for threads).
        script = "import sys; from storage.db import upgrade_database_sync as up; up(sys.argv[1])"
        runs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                script,
                url,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = await asyncio.gather(*(run.communicate() for run in runs))
        for run, (output, _) in zip(runs, outputs, strict=True):
            assert run.returncode == 0, output.decode()
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                from sqlalchemy import text

                versions = (
                    (await connection.execute(text("SELECT version_num FROM alembic_version")))
                    .scalars()
                    .all()
                )
        finally:
            await engine.dispose()
        from storage.migrations import HEAD_REVISION

        assert versions == [HEAD_REVISION]
    finally:
        await _drop_pg_schema(dsn, schema)


async def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            session.add(User(id=7, language="ru", timezone="Europe/Moscow"))
            await session.flush()
            target = Target(owner_id=7, platform="telegram", external_id="-1007", title="Канал")
            session.add(target)
            await session.flush()
            for number in range(25):
                content = Content(owner_id=7, text=f"<b>пост {number}</b>", media=[])
                session.add(content)
                await session.flush()
                due = utcnow() + timedelta(hours=number)
                session.add(
                    ScheduledPost(
                        content_id=content.id,
                        target_id=target.id,
                        owner_id=7,
                        platform="telegram",
                        scheduled_time=due,
                        due_at=due,
                        status=PostStatus.SCHEDULED,
                        options={"silent": True},
                    )
                )
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_migrate_data_copies_sqlite_into_empty_postgres(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    source = f"sqlite+aiosqlite:///{tmp_path / 'curator.db'}"
    await upgrade_database(source)
    await _seed(source)
    schema, dsn = await _pg_schema_url(PG_URL)
    target = pg_url_with_schema(PG_URL, schema)
    try:
        report = await copy_database(source, target, batch_rows=10)
        assert report.rows["scheduled_posts"] == 25
        assert report.rows["contents"] == 25
        engine = create_engine(target)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                posts = (
                    await session.execute(select(ScheduledPost).order_by(ScheduledPost.id))
                ).scalars()
                first = next(iter(posts))
                assert first.due_at.tzinfo is not None
                assert first.options == {"silent": True}
                content = await session.get(Content, first.content_id)
                assert content is not None and content.text == "<b>пост 0</b>"
                # New rows get new ids: the sequences were moved past the copied ones.
                extra = Content(owner_id=7, text="new", media=[])
                session.add(extra)
                await session.flush()
                assert extra.id == 26
                assert await session.scalar(select(func.count()).select_from(User)) == 1
        finally:
            await engine.dispose()
        # A second copy into the now non-empty target is refused and changes nothing.
        with pytest.raises(TargetNotEmptyError):
            await copy_database(source, target)
        process = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "migrate-data", "--from", source, "--to", target],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**os.environ, "BOT_TOKEN": TEST_TOKEN, "PYTHONPATH": str(ROOT)},
        )
        assert process.returncode == 1
        assert "already holds data" in process.stderr
    finally:
        await _drop_pg_schema(dsn, schema)
