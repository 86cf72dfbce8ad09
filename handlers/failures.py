"""What went wrong, told to a person: one translated sentence per error code
(platforms.errors.ErrorCode) that says what to do. Shared by the post view and list, /failed,
the workers' notifications and the AI buttons. The English details the publishers and the
generator give stay in the log and the attempt record; only admins see them (in /failed)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from platforms.errors import ErrorCode
from services.quota import AiQuotaExceeded

_SENTENCES: dict[ErrorCode, Callable[[], str]] = {
    ErrorCode.BOT_KICKED: lambda: _(
        "The bot was removed from the channel. Add it back as an administrator with the right "
        "to post, then retry."
    ),
    ErrorCode.NO_POST_RIGHT: lambda: _(
        "The bot may not post in this channel any more. Make it an administrator with the "
        "right to post, then retry."
    ),
    ErrorCode.OWNER_LOST_RIGHTS: lambda: _(
        "You are no longer the channel's creator or an administrator allowed to post there, "
        "so nothing is posted to it. Once you have that right again, link the channel again: "
        "the waiting posts and rules resume."
    ),
    ErrorCode.CHAT_NOT_FOUND: lambda: _(
        "The channel was not found: it was deleted or the bot cannot see it. Link the channel "
        "again."
    ),
    ErrorCode.CHAT_MIGRATED: lambda: _("The chat moved to a new address. Link it again."),
    ErrorCode.BOT_TOKEN_INVALID: lambda: _(
        "The bot's token is no longer valid. Tell the bot's administrator."
    ),
    ErrorCode.INVALID_CREDENTIALS: lambda: _(
        "The account's authorisation was revoked or has expired. Link the account again."
    ),
    ErrorCode.CHALLENGE_REQUIRED: lambda: _(
        "Instagram asks for a security check. Confirm it in the Instagram app, then link the "
        "account again."
    ),
    ErrorCode.ACCOUNT_SUSPENDED: lambda: _(
        "The platform suspended the account. Settle it with the platform, then link the "
        "account again."
    ),
    ErrorCode.NOT_CONFIGURED: lambda: _(
        "Publishing to this platform is not set up on this bot. Tell the bot's administrator."
    ),
    ErrorCode.MESSAGE_TOO_LONG: lambda: _(
        "The post is too long for this platform. Shorten the text, then schedule it again."
    ),
    ErrorCode.BAD_HTML: lambda: _(
        "The post's formatting could not be read. Edit the text, then retry."
    ),
    ErrorCode.BAD_MEDIA: lambda: _("A picture of the post was refused. Replace it, then retry."),
    ErrorCode.DUPLICATE_CONTENT: lambda: _(
        "The platform refused the post as a repeat of a recent one. Change the text, then retry."
    ),
    ErrorCode.REJECTED: lambda: _(
        "The platform refused the post. Check its text and pictures, then retry."
    ),
    ErrorCode.RATE_LIMITED: lambda: _("The platform asked to slow down. Retry a little later."),
    ErrorCode.NETWORK: lambda: _(
        "Could not reach the platform, even after several tries. Retry later."
    ),
    ErrorCode.TIMEOUT: lambda: _(
        "No answer from the platform after sending, so the post may be out. Check, then retry "
        "or mark it published."
    ),
    ErrorCode.SERVER_ERROR: lambda: _("The platform failed on its side. Retry later."),
    ErrorCode.SERVER_ERROR_SENT: lambda: _(
        "The platform failed on its side after the post was sent, so the post may be out. "
        "Check, then retry or mark it published."
    ),
    ErrorCode.PARTIAL_THREAD: lambda: _(
        "Only part of the X thread was published. Check X, then finish it by hand or mark it "
        "published."
    ),
    ErrorCode.MESSAGE_TOO_OLD_TO_DELETE: lambda: _(
        "Telegram lets a bot delete its message only within 48 hours of sending it. Delete it "
        "yourself in the channel."
    ),
    ErrorCode.NO_RIGHT_TO_DELETE: lambda: _(
        "The bot may not delete messages in this channel. Give it the right to post (for its "
        "own posts) or to delete messages, then try again."
    ),
    ErrorCode.NO_RIGHT_TO_PIN: lambda: _(
        "The bot may not pin messages in this channel. Give it the right to edit messages of "
        "others, then try again."
    ),
    ErrorCode.NO_RIGHT_TO_EDIT: lambda: _(
        "The bot may not edit this message. Give it back its administrator rights, then try again."
    ),
    ErrorCode.CANNOT_EDIT_ON_X: lambda: _(
        "X does not let the bot edit a published post. Delete it and publish a corrected copy."
    ),
    ErrorCode.MESSAGE_GONE: lambda: _(
        "The message is not in the channel any more: it was deleted there."
    ),
    ErrorCode.NOT_SUPPORTED: lambda: _("This platform does not allow that for a published post."),
    ErrorCode.PROCESS_STOPPED: lambda: _(
        "The bot stopped while publishing, so the post may be out. Check, then retry or mark "
        "it published."
    ),
    ErrorCode.MISSED: lambda: _(
        "The bot was not running at the scheduled time. Retry, or cancel the post."
    ),
    ErrorCode.TARGET_UNLINKED: lambda: _("The target was unlinked, so the post was cancelled."),
    ErrorCode.AI_NOT_CONFIGURED: lambda: _(
        "AI is not set up on this bot. Write the text yourself, or tell the bot's administrator."
    ),
    ErrorCode.AI_QUOTA: lambda: _(
        "The AI account has no quota left. Tell the bot's administrator; meanwhile write the "
        "text yourself."
    ),
    ErrorCode.AI_BAD_KEY: lambda: _(
        "The AI service refused the bot's key. Tell the bot's administrator."
    ),
    ErrorCode.AI_BAD_REQUEST: lambda: _(
        "The AI service refused the request. Rephrase the description, then try again."
    ),
    ErrorCode.AI_REFUSED: lambda: _(
        "The AI service declined this topic. Rephrase the description, then try again."
    ),
    ErrorCode.AI_UNAVAILABLE: lambda: _(
        "The AI service is not answering right now. Try again in a few minutes."
    ),
    ErrorCode.AI_UNFIT: lambda: _(
        "The AI text did not fit the platform's limits. Try again, or shorten the description."
    ),
    ErrorCode.AI_REPEAT: lambda: _(
        "The new text repeats a recent post even after regenerating, so it was not published. "
        "Change the rule's description."
    ),
    ErrorCode.AI_BUDGET: lambda: _(
        "The rule's monthly token budget is used up. Raise the budget, or wait for next month."
    ),
    ErrorCode.NO_CONTENT: lambda: _(
        "The rule has neither a text nor an AI description. Edit the rule."
    ),
    ErrorCode.NO_TARGETS: lambda: _(
        "None of the rule's targets can be published to. Link them again, or edit the rule."
    ),
    ErrorCode.BAD_SCHEDULE: lambda: _(
        "The rule's schedule cannot be computed. Edit the schedule."
    ),
    ErrorCode.RULE_RUN_LOST: lambda: _(
        "The bot stopped while preparing one of the rule's posts and came back too late to "
        "prepare it. Use “⚡ Run now” if you still want it."
    ),
    ErrorCode.INTERNAL: lambda: _(
        "Something went wrong on the bot's side. It is logged; try again later."
    ),
    ErrorCode.UNKNOWN: lambda: _("Something unexpected went wrong. Check the post, then retry."),
}


def failure_text(code: str | ErrorCode | None) -> str:
    """The sentence for `code` in the current language; rows written before codes existed
    (no code) get a generic one. Plain text: escape it before putting it into HTML."""
    known = ErrorCode.parse(code)
    if known is None:
        return _(
            "Something went wrong. Try again; if it keeps failing, tell the bot's administrator."
        )
    return _SENTENCES[known]()


def ai_quota_text(error: AiQuotaExceeded) -> str:
    """The daily AI quota is used up: how many, and when it renews in the user's zone."""
    local = error.resets_at.astimezone(ZoneInfo(error.timezone))
    return _(
        "You have used all {limit} AI requests for today. More are available from "
        "{moment} ({zone})."
    ).format(limit=error.limit, moment=local.strftime("%Y-%m-%d %H:%M"), zone=error.timezone)


__all__ = ["ai_quota_text", "failure_text"]
