"""The chat: one Router per feature, keyboards, callback data, FSM states."""

from __future__ import annotations

from aiogram import Router


def build_root_router() -> Router:
    from handlers import common, errors, fallback, posts, rules, targets

    features = [errors.router, common.router, posts.router, targets.router, rules.router]
    root = Router(name="root")
    # The fallback must stay last: it answers whatever nobody else understood.
    for router in [*features, fallback.router]:
        # Feature routers live at module level and so outlive one Dispatcher (tests and
        # benchmarks build several apps per process); aiogram refuses a second parent.
        router._parent_router = None
        root.include_router(router)
    return root
