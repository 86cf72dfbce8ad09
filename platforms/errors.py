"""What went wrong, as a code the interface translates (en/ru) into a sentence that says what
to do. Publishers and the AI generator attach one to every error they raise; the English
details beside it stay in the log and the attempt record, never in front of the user."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # The target: the bot or the account cannot publish there any more.
    BOT_KICKED = "bot_kicked"  # Telegram 403: the bot was removed from the channel
    NO_POST_RIGHT = "no_post_right"  # the bot is no admin allowed to post
    OWNER_LOST_RIGHTS = "owner_lost_rights"  # the owner left the channel or may not post
    CHAT_NOT_FOUND = "chat_not_found"
    CHAT_MIGRATED = "chat_migrated"
    BOT_TOKEN_INVALID = "bot_token_invalid"
    INVALID_CREDENTIALS = "invalid_credentials"  # X/Instagram authorisation revoked or gone
    CHALLENGE_REQUIRED = "challenge_required"  # Instagram wants a security check
    ACCOUNT_SUSPENDED = "account_suspended"
    NOT_CONFIGURED = "not_configured"  # the platform's keys are not set on this bot
    # The post itself.
    MESSAGE_TOO_LONG = "message_too_long"
    BAD_HTML = "bad_html"
    BAD_MEDIA = "bad_media"
    DUPLICATE_CONTENT = "duplicate_content"
    REJECTED = "rejected"  # any other refusal of the post by the platform
    # After publishing (issue 12): editing, deleting, pinning a published post.
    MESSAGE_TOO_OLD_TO_DELETE = "too_old_to_delete"  # Telegram: only within 48 h of sending
    NO_RIGHT_TO_DELETE = "no_right_to_delete"
    NO_RIGHT_TO_PIN = "no_right_to_pin"  # Telegram channels: can_edit_messages
    NO_RIGHT_TO_EDIT = "no_right_to_edit"
    CANNOT_EDIT_ON_X = "cannot_edit_on_x"  # X has no edit for the bot: delete and repost
    MESSAGE_GONE = "message_gone"  # the published message is not there any more
    NOT_SUPPORTED = "not_supported"  # the platform cannot do this to a published post
    # The way there.
    RATE_LIMITED = "rate_limited"
    NETWORK = "network"
    TIMEOUT = "timeout"  # sent, no answer: maybe published
    SERVER_ERROR = "server_error"  # before anything was published (an upload): retried
    SERVER_ERROR_SENT = "server_error_sent"  # 5xx after the post was sent: maybe published
    PARTIAL_THREAD = "partial_thread"  # only the first posts of an X thread went out
    # The bot's own life.
    PROCESS_STOPPED = "process_stopped"
    MISSED = "missed"
    TARGET_UNLINKED = "target_unlinked"
    # The AI generator.
    AI_NOT_CONFIGURED = "ai_not_configured"
    AI_QUOTA = "ai_quota"
    AI_BAD_KEY = "ai_bad_key"
    AI_BAD_REQUEST = "ai_bad_request"
    AI_REFUSED = "ai_refused"
    AI_UNAVAILABLE = "ai_unavailable"
    AI_UNFIT = "ai_unfit"  # the answer could not be fitted to the platform
    AI_REPEAT = "ai_repeat"  # the answer repeats a recent post
    AI_BUDGET = "ai_budget"  # the rule's monthly token budget is used up
    NO_CONTENT = "no_content"  # a rule with neither text nor brief
    NO_TARGETS = "no_targets"  # a rule none of whose targets can be published to
    BAD_SCHEDULE = "bad_schedule"  # a rule whose schedule cannot be computed
    RULE_RUN_LOST = "rule_run_lost"  # the bot stopped mid-run and it was too late to redo it
    INTERNAL = "internal"  # a bug of the bot itself
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> ErrorCode | None:
        """A stored code, or None for rows written before codes existed (or unknown ones)."""
        if not value:
            return None
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN
