"""Auto-posting rules by chat: the rule list, the create/edit dialog (name → schedule →
content → targets → publishing → summary with the next five runs), Pause/Resume, Run now,
Try it (dry run), Delete, and the approval of drafts a rule prepared.

Public API for other packages: `build_router()`, and `send_approval_draft` /
`approval_keyboard` for the notifier that sends drafts to their owners (bot/notifier.py)."""

from __future__ import annotations

from handlers.rules.approvals import send_approval_draft
from handlers.rules.keyboards import approval_keyboard
from handlers.rules.router import build_router

__all__ = ["approval_keyboard", "build_router", "send_approval_draft"]
