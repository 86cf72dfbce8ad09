"""What the linking dialogs say in plain messages (the windows' own texts are `translated`
widgets next to their windows)."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from platforms.telegram import LinkProblem
from storage.models import Platform, Target


def no_secrets_text() -> str:
    return _(
        "I cannot link X or Instagram accounts yet: their credentials are stored encrypted, "
        "and the bot's owner has not set SECRET_KEY. Ask them to set it and restart the bot."
    )


def x_not_configured_text() -> str:
    return _(
        "X is not configured on this bot. Its owner needs an X developer app and must "
        "set X_CONSUMER_KEY and X_CONSUMER_SECRET, then restart the bot."
    )


def x_unreachable_text() -> str:
    return _("I could not reach X just now. Please try again in a minute.")


def x_expired_text() -> str:
    return _("This linking attempt expired. Start again with /link_x.")


def instagram_expired_text() -> str:
    return _("This login attempt expired. Start again with /link_instagram.")


def linked_text(target: Target, name: str) -> str:
    """`name` is the target's escaped display name (handlers.render.target_name)."""
    if target.platform == Platform.X:
        return _("✅ X account {title} is linked. I will publish there.").format(title=name)
    if target.platform == Platform.INSTAGRAM:
        return _("✅ Instagram account {title} is linked. I will publish there.").format(
            title=name
        )
    return _("✅ Channel {title} is linked. I will publish there.").format(title=name)


def instagram_failure_text(code: str) -> str:
    texts = {
        "bad_password": _(
            "Instagram did not accept this username or password. Start again with /link_instagram."
        ),
        "challenge_manual": _(
            "Instagram wants to confirm it's you in a way only you can do. Open the Instagram "
            "app, confirm it's you, then link the account again with /link_instagram."
        ),
        "bad_code": _("The code did not work several times. Start again with /link_instagram."),
        "timeout": _("The code did not arrive in time. Start again with /link_instagram."),
        "rate_limited": _(
            "Instagram asks to wait before trying again. Please try again in 15 minutes."
        ),
        "unreachable": _("I could not reach Instagram just now. Please try again in a minute."),
        "cancelled": _("Linking cancelled."),
    }
    return texts.get(code, _("Instagram did not let me log in. Start again with /link_instagram."))


def link_problem_text(problem: LinkProblem, title: str) -> str:
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
        LinkProblem.USER_CANNOT_POST: _(
            "You are an administrator of {title} but without the right to post messages, so "
            "you cannot link it. Ask its creator for that right, then try again."
        ),
    }
    return texts[problem].format(title=escape(title))
