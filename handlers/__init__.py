"""The chat: one package per feature, each with `build_router()`; a new tree of routers per
app, so two apps in one process (a restart in tests, a webhook beside polling) never share
one. The top-level modules (callbacks, keyboards, render, i18n, middlewares, commands) are
the kit every feature shares."""

from __future__ import annotations

from aiogram import Router


def build_root_router() -> Router:
    from handlers import accounts, admin, common, compose, posts, rules, settings, targets

    root = Router(name="root")
    # The errors router first: an update that failed anywhere below still gets an answer.
    root.include_router(common.build_errors_router())
    root.include_router(common.build_router())
    root.include_router(admin.build_router())
    root.include_router(settings.build_router())
    root.include_router(compose.build_router())
    root.include_router(posts.build_router())
    root.include_router(targets.build_router())
    root.include_router(accounts.build_router())
    root.include_router(rules.build_router())
    # The fallback must stay last: it answers whatever nobody else understood.
    root.include_router(common.build_fallback_router())
    return root
