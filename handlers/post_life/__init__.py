"""A post's life after publishing (issue 12): edit, delete, auto-delete, timed pin, history.

`life_buttons` adds its entry points under a published post's view (handlers/posts), and
`published_keyboard` is for a notice that a post went out."""

from handlers.post_life.keyboards import life_buttons, published_keyboard
from handlers.post_life.router import build_router
from handlers.post_life.texts import life_lines

__all__ = ["build_router", "life_buttons", "life_lines", "published_keyboard"]
