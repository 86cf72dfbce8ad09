"""Pictures in the chat (issue 13): /calendar (the week as a grid) and /stats (charts)."""

from handlers.charts.router import build_router

__all__ = ["build_router"]
