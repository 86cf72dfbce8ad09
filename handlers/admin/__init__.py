"""Admin commands (/stats, /workers, /failed, /users), for ADMIN_IDS only."""

from handlers.admin.router import build_router

__all__ = ["build_router"]
