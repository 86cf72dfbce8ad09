from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from handlers.render import zone_label
from storage.models import User


def help_text() -> str:
    return _(
        "<b>Content Curator</b> writes, schedules and publishes posts to your channels.\n\n"
        "/new — write a post (or let AI write it), preview it and schedule it\n"
        "/scheduled — your posts and their status\n"
        "/channels — your channels and accounts\n"
        "/link — link a Telegram channel\n"
        "/link_x — link an X account\n"
        "/link_instagram — link an Instagram account\n"
        "/rules — auto-posting rules\n"
        "/settings — language and time zone\n"
        "/menu — the main menu\n"
        "/cancel — leave the current dialog\n\n"
        "Every step has Back and Cancel buttons. Times are understood in your time zone: "
        "<code>2026-12-01 18:00</code>, <code>in 10 minutes</code>, "
        "<code>tomorrow 9:30</code>, <code>friday 18:00</code>."
    )


def welcome_text(user: User) -> str:
    return _(
        "Hi! I am Content Curator. I write, schedule and publish posts to your Telegram "
        "channels, X and Instagram.\n\nYour time zone: <b>{timezone}</b>. What shall we do?"
    ).format(timezone=zone_label(user.timezone))
