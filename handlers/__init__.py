"""The chat: one Router per feature, keyboards, callback data, FSM states."""

from __future__ import annotations

from aiogram import Router


def build_root_router() -> Router:
    from handlers import accounts, common, errors, fallback, posts, targets

    root = Router(name="root")
    root.include_routers(errors.router, common.router, posts.router, targets.router)
    root.include_router(accounts.router)
    # The fallback must stay last: it answers whatever nobody else understood.
    root.include_router(fallback.router)
    return root
