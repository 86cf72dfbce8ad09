"""`python -m bot` — runs the bot (polling by default), or a webhook server, or workers only."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys

from pydantic import ValidationError

from bot.logging_setup import setup_logging
from bot.settings import Settings

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
    args = parser.parse_args(argv)
    settings = load_settings_or_exit()
    setup_logging(settings.log_level, settings.log_file, _secrets(settings))
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
