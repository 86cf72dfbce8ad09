"""The chat's frame, around every feature: /start, /menu, /help, /cancel; the error handler
(the root router's first: an update that failed still gets an apology); the fallback (its
last: whatever nobody understood gets an answer). They live together because none of them
is a feature of its own and each must see every update; the errors and fallback routers are
built separately because their place in the root router is fixed."""

from handlers.common.errors import build_errors_router
from handlers.common.fallback import build_fallback_router
from handlers.common.router import build_router
from handlers.common.texts import help_text, welcome_text

__all__ = [
    "build_errors_router",
    "build_fallback_router",
    "build_router",
    "help_text",
    "welcome_text",
]
