"""A delay as a person reads it ("6 h", "7 d"): the auto-delete option here and the
after-publishing buttons (handlers/post_life) say it the same way."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def delay_label(seconds: int) -> str:
    if seconds % 86400 == 0 and seconds > 86400:
        return _("{n} d").format(n=seconds // 86400)
    if seconds % 3600 == 0:
        return _("{n} h").format(n=seconds // 3600)
    return _("{n} min").format(n=seconds // 60)


def auto_delete_label(seconds: int | None) -> str:
    """The confirmation's auto-delete button (issue 12)."""
    if not seconds:
        return _("⏳ Auto-delete: off")
    return _("⏳ Auto-delete: after {delay}").format(delay=delay_label(seconds))
