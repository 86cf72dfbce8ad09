"""What the forwarding feature says."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _


def offer_text(title: str) -> str:
    return _(
        "This post is from {title}: you may post there, but it is not linked yet. Link it "
        "first? The draft then goes there."
    ).format(title=escape(title))


def media_left_out_text() -> str:
    return _(
        "I kept the text, photos, videos, GIFs and files. Music, voice messages, round videos "
        "and stickers are not carried over: a post cannot hold them."
    )


def nothing_to_keep_text() -> str:
    return _(
        "I make drafts from a post's text and media (photos, videos, GIFs, files), and this "
        "one has none of them. Forward a post with text or media."
    )


def bot_added_text(title: str, can_post: bool) -> str:
    text = _(
        "You added me to {title} as an administrator. Link it to publish there? I check "
        "that both of us may post there first."
    ).format(title=escape(title))
    if not can_post:
        text += "\n" + _(
            "I may not post messages there yet: turn on «Post messages» for me, then tap Link."
        )
    return text


def not_linked_text() -> str:
    return _("Not linked. You can link it any time with /link.")
