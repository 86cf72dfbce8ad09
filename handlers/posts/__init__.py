"""The post list and one post's actions."""

from handlers.posts.keyboards import decision_keyboard
from handlers.posts.router import build_router

__all__ = ["build_router", "decision_keyboard"]
