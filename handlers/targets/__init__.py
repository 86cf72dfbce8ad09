"""Targets (where posts go): the list, one target's view and unlinking. Linking a channel,
an X or an Instagram account is the accounts feature's dialogs; the three "➕ Link" buttons
come from there.

Public API: `build_router()`, and `show_targets(message, services, user)` (the list; the
linking dialogs come back to it)."""

from handlers.targets.router import build_router, show_targets

__all__ = ["build_router", "show_targets"]
