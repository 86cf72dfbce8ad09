"""`python -m bot` — runs the bot (polling by default), or a webhook server, or workers only;
`python -m bot rotate-secrets` re-encrypts the stored credentials with the first key;
`python -m bot migrate-data --to URL` copies the database (e.g. SQLite) into an empty one
(e.g. PostgreSQL) when moving to the scale profile."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.logging_setup import setup_logging
from bot.settings import Settings

if TYPE_CHECKING:
    from platforms.credentials import SecretBox
    from storage.uow import Database

log = logging.getLogger("app")


def explain_settings_error(error: ValidationError) -> str:
    lines = ["Configuration error:"]
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]).upper() or "SETTINGS"
        if item["type"] == "missing":
            if name == "BOT_TOKEN":
                lines.append(
                    "  BOT_TOKEN is missing. Get a token from @BotFather and put "
                    "BOT_TOKEN=... into .env (see .env.example)."
                )
            else:
                lines.append(f"  {name} is missing.")
        else:
            message = str(item.get("msg", "")).removeprefix("Value error, ")
            lines.append(f"  {name}: {message}")
    return "\n".join(lines)


def load_settings_or_exit() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        print(explain_settings_error(exc), file=sys.stderr)
        raise SystemExit(2) from None


def _secrets(settings: Settings) -> list[str]:
    values = [settings.bot_token.get_secret_value()]
    for secret in (
        settings.openai_api_key,
        settings.x_consumer_key,
        settings.x_consumer_secret,
        settings.secret_key,
        settings.previous_secret_key,
        settings.webhook_secret,
    ):
        if secret is not None:
            values.append(secret.get_secret_value())
    return values


def settle_start_up_objects() -> None:
    """Start-up creates about a million objects that live as long as the process (aiogram's
    API models, SQLAlchemy, the handlers). `main` turns the cyclic GC off while they are
    made, since each collection would only walk them again (about 1 s of CPU in all on the
    standard machine); once the app is built: one collection for the garbage, then freeze
    the rest so that later collections skip it, and the GC is back on."""
    gc.collect()
    gc.freeze()
    gc.enable()


async def run_polling(settings: Settings) -> None:
    from bot.factory import create_app
    from storage.db import ensure_schema

    await ensure_schema(settings.database_url)
    app = create_app(settings)
    settle_start_up_objects()
    from bot.webhook import telegram_update_types

    await app.dispatcher.start_polling(
        app.bot,
        handle_signals=True,
        close_bot_session=True,
        allowed_updates=telegram_update_types(app.dispatcher),
    )


async def run_webhook(settings: Settings) -> None:
    from aiohttp import web

    from bot.factory import create_app
    from bot.webhook import create_webhook_app, register_webhook, webhook_secret
    from storage.db import ensure_schema

    if not settings.webhook_url:
        raise SystemExit("WEBHOOK_URL is required in webhook mode")
    secret = webhook_secret(settings)
    await ensure_schema(settings.database_url)
    app = create_app(settings)
    settle_start_up_objects()
    web_app = create_webhook_app(app.dispatcher, app.bot, secret)
    await register_webhook(app.dispatcher, app.bot, settings.webhook_url, secret)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    log.info("Webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
    await _wait_for_signal()
    await runner.cleanup()


async def run_workers_only(settings: Settings) -> None:
    """Publishes and runs rules without polling: any number of these may share PostgreSQL."""
    from bot.factory import create_app, on_shutdown, start_health, start_workers
    from storage.db import ensure_schema

    await ensure_schema(settings.database_url)
    app = create_app(settings)
    settle_start_up_objects()
    await start_workers(app)
    await start_health(app)
    await _wait_for_signal()
    await on_shutdown(app)
    await app.bot.session.close()


async def reencrypt_credentials(db: Database, box: SecretBox) -> tuple[int, int]:
    """Every stored credential encrypted again with the first key of `box`: (re-encrypted,
    changed meanwhile and left as they were). Read, encrypt with no unit open, then write
    each one only if it is still what was read; one undecryptable credential stops the
    whole run before anything is written."""
    from storage.repositories import CredentialRepository

    async with db.read() as session:
        stored = await CredentialRepository(session).all_ciphertexts()
    renewed = [(row_id, old, box.rotate(old)) for row_id, old in stored]
    done = skipped = 0
    async with db.write() as session:
        repository = CredentialRepository(session)
        for row_id, old, new in renewed:
            if await repository.replace_ciphertext(row_id, old, new):
                done += 1
            else:
                skipped += 1
    return done, skipped


async def rotate_secrets(settings: Settings) -> int:
    from platforms.credentials import SecretBox, SecretsUnavailableError
    from storage.db import create_engine, ensure_schema
    from storage.uow import Database

    box = SecretBox(
        settings.secret_key.get_secret_value() if settings.secret_key else None,
        salt_dir=settings.data_dir,
        previous=(
            settings.previous_secret_key.get_secret_value()
            if settings.previous_secret_key
            else None
        ),
    )
    if not box.available:
        print("SECRET_KEY is not set: there is nothing to re-encrypt with.", file=sys.stderr)
        return 2
    await ensure_schema(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        done, skipped = await reencrypt_credentials(Database(engine), box)
    except SecretsUnavailableError:
        print(
            "A stored credential cannot be decrypted with SECRET_KEY or PREVIOUS_SECRET_KEY; "
            "nothing was changed. Keep the old keys after the new one (or put the old value "
            "in PREVIOUS_SECRET_KEY) and run again.",
            file=sys.stderr,
        )
        return 1
    finally:
        await engine.dispose()
    print(f"Re-encrypted {done} credential(s) with the first key of SECRET_KEY.")
    if skipped:
        print(f"{skipped} changed meanwhile (already written with the first key); run again.")
    else:
        print("The other keys of SECRET_KEY and PREVIOUS_SECRET_KEY can now be removed.")
    return 0


async def migrate_data(source_url: str, target_url: str) -> int:
    from sqlalchemy.engine import make_url

    from storage.transfer import TargetNotEmptyError, copy_database

    def shown(url: str) -> str:
        return make_url(url).render_as_string(hide_password=True)

    print(f"Copying {shown(source_url)} into {shown(target_url)} ...")
    try:
        report = await copy_database(
            source_url,
            target_url,
            progress=lambda table, rows: print(f"  {table}: {rows} row(s)"),
        )
    except TargetNotEmptyError as exc:
        print(f"Nothing was copied: {exc}. Point --to at a new, empty database.", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"Nothing was copied: {exc}.", file=sys.stderr)
        return 2
    print(
        f"Done: {report.total} row(s) in {len(report.rows)} table(s). Set DATABASE_URL to the "
        "new database and start the bot; keep the old file until you have checked it."
    )
    return 0


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--mode",
        choices=("polling", "webhook", "workers"),
        help="how to run (default: RUN_MODE or polling)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "rotate-secrets",
        help="re-encrypt every stored credential with the first key of SECRET_KEY",
    )
    transfer = commands.add_parser(
        "migrate-data",
        help="copy every row of DATABASE_URL (or --from) into a new, empty database (--to)",
    )
    transfer.add_argument("--from", dest="source", help="source URL (default: DATABASE_URL)")
    transfer.add_argument("--to", dest="target", required=True, help="target URL (empty)")
    args = parser.parse_args(argv)
    settings = load_settings_or_exit()
    setup_logging(settings.log_level, settings.log_file, _secrets(settings))
    if args.command == "rotate-secrets":
        raise SystemExit(asyncio.run(rotate_secrets(settings)))
    if args.command == "migrate-data":
        source = args.source or settings.database_url
        raise SystemExit(asyncio.run(migrate_data(source, args.target)))
    mode = args.mode or settings.run_mode
    runner = {"polling": run_polling, "webhook": run_webhook, "workers": run_workers_only}.get(
        mode
    )
    if runner is None:
        raise SystemExit(f"unknown mode {mode!r}")
    gc.disable()  # until the app is built: see settle_start_up_objects
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner(settings))
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
