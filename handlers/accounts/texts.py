"""What the X and Instagram linking dialogs say besides their one-off prompts."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def no_secrets_text() -> str:
    return _(
        "I cannot link X or Instagram accounts yet: their credentials are stored encrypted, "
        "and the bot's owner has not set SECRET_KEY. Ask them to set it and restart the bot."
    )


def x_unreachable_text() -> str:
    return _("I could not reach X just now. Please try again in a minute.")


def instagram_expired_text() -> str:
    return _("This login attempt expired. Start again with /link_instagram.")


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
