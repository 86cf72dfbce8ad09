"""Forward any post to the bot and get a draft of it; link a channel in one tap (the chat
picker's answer outside /link's dialog, and the channel the bot was just added to).

Public API: `build_router()` (in the chat router, before the fallback),
`build_forwards_router()` (after the chat router), and `AT_REST`: the filter under which the
fallback passes a forwarded post on instead of answering it."""

from handlers.forwarding.router import AT_REST, build_forwards_router, build_router

__all__ = ["AT_REST", "build_forwards_router", "build_router"]
