"""Queues with time slots (issue 12): a target's queue and its posting times.

Public API: `build_router()`, `queue_button(target_id)` (the target's view shows it), and
`queued_text` / `defaults_offer_text` (the new post's 📥 Add to queue answers)."""

from handlers.queues.callbacks import QueueCb
from handlers.queues.router import build_router
from handlers.queues.texts import defaults_offer_text, queue_error_text, queued_text

__all__ = [
    "QueueCb",
    "build_router",
    "defaults_offer_text",
    "queue_error_text",
    "queued_text",
]
