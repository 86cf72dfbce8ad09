from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from platforms.telegram import ChannelLinkError, LinkProblem


def targets_list_text(has_targets: bool) -> str:
    if has_targets:
        return _("Your targets:")
    return _(
        "No targets yet. To link a channel: add me to it as an administrator with the "
        "right to post, then press the button below. X and Instagram accounts are linked "
        "with their own buttons."
    )


def channel_instructions() -> str:
    return _(
        "1. Add me to your channel as an administrator with the right to post messages.\n"
        "2. Forward any post from the channel here, or send its @username."
    )


def not_yours_text() -> str:
    return _("That target is not yours or no longer exists.")


def link_problem_text(error: ChannelLinkError) -> str:
    title = error.title or ""
    texts = {
        LinkProblem.NOT_FOUND: _(
            "I cannot find this channel. Check the @username, or add me to the channel as an "
            "administrator first and forward a post from it."
        ),
        LinkProblem.NOT_A_CHANNEL: _("{title} is not a channel. I publish to channels only."),
        LinkProblem.BOT_NOT_ADMIN: _(
            "I am not an administrator of {title}. Add me as an administrator with the right "
            "to post messages, then try again."
        ),
        LinkProblem.BOT_CANNOT_POST: _(
            "I am an administrator of {title} but may not post messages. Turn on "
            '"Post messages" for me, then try again.'
        ),
        LinkProblem.USER_NOT_ADMIN: _(
            "You are not the creator or an administrator of {title}, so you cannot link it."
        ),
    }
    return texts[error.problem].format(title=escape(title))
