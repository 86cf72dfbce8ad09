"""Targets (where posts go): the list, linking a Telegram channel, one target's view and
unlinking. X and Instagram accounts are linked by the accounts feature; the three "➕ Link"
buttons and the way back to the new post's target picker come from there."""

from handlers.targets.router import build_router

__all__ = ["build_router"]
