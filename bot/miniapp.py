"""The Mini App (issue 13) in the bot's process: its routes on the health server (or on a
server of its own, MINIAPP_PORT), the main menu's button and the bot's menu button.

Nothing of it is imported or started unless MINIAPP_URL is set (start-up stays light)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.settings import AccessMode, Settings

if TYPE_CHECKING:
    from bot.factory import App
    from webapp.server import WebAppConfig

log = logging.getLogger("app")

RUNNER_KEY = "miniapp_runner"


def miniapp_config(settings: Settings) -> WebAppConfig:
    from webapp.server import WebAppConfig

    allowed = None
    if settings.access == AccessMode.ALLOWLIST:
        allowed = frozenset(settings.admin_ids) | frozenset(settings.allowed_user_ids)
    return WebAppConfig(
        bot_token=settings.bot_token.get_secret_value(),
        auth_max_age=timedelta(seconds=settings.miniapp_auth_max_age),
        allowed_user_ids=allowed,
        default_language=settings.default_language,
        failure_texts=_failure_texts,
    )


def _failure_texts() -> dict[str, str]:
    """Every error code's sentence, as the chat words it (in the current locale)."""
    from handlers.failures import failure_text
    from platforms.errors import ErrorCode

    return {code.value: failure_text(code) for code in ErrorCode}


def install_miniapp(app: App) -> None:
    """The main menu's 📅 Calendar button (a context variable set for each update)."""
    if not app.settings.miniapp_url:
        return
    from handlers.miniapp import MiniAppMiddleware

    app.dispatcher.update.outer_middleware(MiniAppMiddleware(app.settings.miniapp_url))


def mount_on_health(app: App, health: web.Application) -> None:
    """Without MINIAPP_PORT the Mini App shares the health server, under /app/ (a reverse
    proxy should forward /app/ only: /metrics is not for the world)."""
    if not app.settings.miniapp_url or app.settings.miniapp_port is not None:
        return
    from webapp.server import add_miniapp_routes

    add_miniapp_routes(health, app.services, app.i18n, miniapp_config(app.settings))


async def start_miniapp(app: App) -> None:
    settings = app.settings
    if not settings.miniapp_url:
        return
    if settings.miniapp_port is not None:
        from webapp.server import create_miniapp_app

        runner = web.AppRunner(
            create_miniapp_app(app.services, app.i18n, miniapp_config(settings)),
            access_log=None,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.miniapp_host, settings.miniapp_port).start()
        except OSError as exc:
            await runner.cleanup()
            log.error("Mini App could not listen on port %s: %s", settings.miniapp_port, exc)
            return
        app.extras[RUNNER_KEY] = runner
        log.info("Mini App on %s:%s/app/", settings.miniapp_host, miniapp_port(app))
    elif settings.health_port == 0:
        log.warning("MINIAPP_URL is set but nothing serves it: set HEALTH_PORT or MINIAPP_PORT")
    await set_menu_button(app)


async def set_menu_button(app: App) -> None:
    from aiogram.types import MenuButtonWebApp, WebAppInfo

    url = app.settings.miniapp_url
    assert url is not None
    text = app.i18n.gettext("Calendar", locale=app.settings.default_language)
    try:
        await app.bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text=text, web_app=WebAppInfo(url=url))
        )
    except Exception as exc:  # the button is a nicety; never block start-up on it
        log.warning("could not set the Mini App menu button: %s", type(exc).__name__)


def miniapp_port(app: App) -> int | None:
    """The port the Mini App's own server listens on (MINIAPP_PORT=0 picks one)."""
    runner = app.extras.get(RUNNER_KEY)
    if runner is None or not runner.addresses:
        return None
    return int(runner.addresses[0][1])


async def stop_miniapp(app: App) -> None:
    runner = app.extras.pop(RUNNER_KEY, None)
    if runner is not None:
        await runner.cleanup()
