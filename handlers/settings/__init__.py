"""Settings: the user's language and time zone."""

from handlers.settings.router import build_router

__all__ = ["build_router"]
