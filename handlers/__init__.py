"""The chat: one Router per feature, keyboards, callback data, FSM states."""

from __future__ import annotations

from aiogram import Router


def _detached(router: Router) -> Router:
    """Feature routers are module singletons; a second app in one process (a restart in
    tests, a webhook and a polling app side by side) takes them over from the first."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
    return router


def build_root_router() -> Router:
    from handlers import (
        accounts,
        admin,
        common,
        compose,
        errors,
        fallback,
        posts,
        rules,
        settings,
        targets,
    )

    root = Router(name="root")
    root.include_routers(
        *map(
            _detached,
            (
                errors.router,
                common.router,
                admin.router,
                settings.router,
                compose.router,
                posts.router,
                targets.router,
                accounts.router,
                rules.router,
            ),
        )
    )
    # The fallback must stay last: it answers whatever nobody else understood.
    root.include_router(_detached(fallback.router))
    return root
