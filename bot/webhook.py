"""Webhook mode: only Telegram may post updates.

- The secret (Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token` with every update)
  is `WEBHOOK_SECRET`, or, when that is not set, a strong one generated on first start and
  kept in the data folder (mode 0600), so every process and restart shares it.
- The path is derived from the secret, so it cannot be guessed either.
- Telegram is asked only for the update types the handlers use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.settings import Settings

log = logging.getLogger("app")

SECRET_FILE = "webhook_secret"
# Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and - in a secret token.
_ALLOWED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def webhook_secret(settings: Settings) -> str:
    if settings.webhook_secret is not None:
        value = settings.webhook_secret.get_secret_value()
        if not 1 <= len(value) <= 256 or set(value) - _ALLOWED:
            raise SystemExit("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -.")
        return value
    path = Path(settings.data_dir) / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # Created with 0600 from the start: the secret is never readable by others, not even
    # for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    log.info("Generated a webhook secret in %s (set WEBHOOK_SECRET to choose one)", path)
    return value


def webhook_path(secret: str) -> str:
    digest = hashlib.sha256(f"content-curator webhook path:{secret}".encode()).hexdigest()
    return f"/webhook/{digest[:32]}"


def create_webhook_app(dispatcher: Dispatcher, bot: Bot, secret: str) -> web.Application:
    """The aiohttp app that receives updates: a request without the secret gets 401."""
    web_app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(
        web_app, path=webhook_path(secret)
    )
    setup_application(web_app, dispatcher, bot=bot)
    return web_app


def telegram_update_types(dispatcher: Dispatcher) -> list[str]:
    """The update types the handlers use, as Telegram knows them: aiogram_dialog registers
    an internal one ("aiogd_update") and business messages, which this bot does not serve."""
    known = set(Update.model_fields) - {"update_id"}
    return sorted(
        kind
        for kind in dispatcher.resolve_used_update_types()
        if kind in known and not kind.startswith(("business_", "edited_business_"))
    )


async def register_webhook(dispatcher: Dispatcher, bot: Bot, url: str, secret: str) -> str:
    full_url = url.rstrip("/") + webhook_path(secret)
    await bot.set_webhook(
        full_url, secret_token=secret, allowed_updates=telegram_update_types(dispatcher)
    )
    return full_url
