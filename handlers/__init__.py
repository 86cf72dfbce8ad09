"""The chat: one package per feature, each with `build_router()`; a new tree of routers per
app, so two apps in one process (a restart in tests, a webhook beside polling) never share
one. The top-level modules (callbacks, keyboards, render, i18n, middlewares, commands) are
the kit every feature shares."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.storage.base import BaseEventIsolation


def build_root_router(events_isolation: BaseEventIsolation | None = None) -> Router:
    from handlers import (
        accounts,
        admin,
        charts,
        common,
        compose,
        forwarding,
        post_life,
        posts,
        queues,
        rules,
        settings,
        targets,
    )
    from handlers.dialogs import setup_chat_dialogs

    root = Router(name="root")
    # The errors router first: an update that failed anywhere below still gets an answer.
    root.include_router(common.build_errors_router())
    # The new-post dialog stays outside the dialogs' per-user isolation: an album's photos
    # arrive as separate updates that must be handled side by side.
    root.include_router(compose.build_router())
    chat = Router(name="chat")
    chat.include_router(common.build_router())
    chat.include_router(admin.build_router())
    # After admin: an admin's /stats is theirs, everyone else's /stats is charts'.
    chat.include_router(charts.build_router())
    chat.include_router(settings.build_router())
    chat.include_router(posts.build_router())
    chat.include_router(post_life.build_router())
    chat.include_router(targets.build_router())
    chat.include_router(queues.build_router())
    chat.include_router(accounts.build_router())
    chat.include_router(rules.build_router())
    chat.include_router(forwarding.build_router())
    # The fallback must stay last: it answers whatever nobody else understood.
    chat.include_router(common.build_fallback_router())
    setup_chat_dialogs(chat, events_isolation)
    root.include_router(chat)
    # After the chat: forwarded posts the fallback passed on (albums, outside the dialogs'
    # isolation, as the new-post dialog), and the bot's own membership in channels.
    root.include_router(forwarding.build_forwards_router())
    return root
