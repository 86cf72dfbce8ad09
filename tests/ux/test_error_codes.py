"""Error codes, not English strings (issue 10): publishers and the generator give a code;
people read one sentence per code in their language, saying what to do."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from content.generator import GenerationError, UnavailableGenerator
from handlers.failures import failure_text
from handlers.i18n import create_i18n
from platforms.errors import ErrorCode
from platforms.telegram import classify_telegram_error
from storage import repositories

METHOD = SendMessage(chat_id=1, text="x")


def test_codes_the_storage_layer_writes_are_error_codes() -> None:
    assert ErrorCode(repositories.ERROR_TARGET_UNLINKED)
    assert ErrorCode(repositories.ERROR_PROCESS_STOPPED)
    assert ErrorCode(repositories.ERROR_MISSED)


@pytest.mark.parametrize("code", [*ErrorCode, None])
def test_every_code_has_a_sentence_in_both_languages(code: ErrorCode | None) -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        english = failure_text(code)
    with i18n.context(), i18n.use_locale("ru"):
        russian = failure_text(code)
    assert english and russian and english != russian
    assert any("а" <= ch <= "я" for ch in russian.lower())


def test_an_unknown_stored_code_reads_as_unknown() -> None:
    assert ErrorCode.parse("no_such_code_any_more") == ErrorCode.UNKNOWN
    assert ErrorCode.parse(None) is None


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            TelegramForbiddenError(METHOD, "Forbidden: bot was kicked from the channel chat"),
            ErrorCode.BOT_KICKED,
        ),
        (
            TelegramForbiddenError(METHOD, "Forbidden: need administrator rights"),
            ErrorCode.NO_POST_RIGHT,
        ),
        (
            TelegramBadRequest(
                METHOD,
                'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
            ),
            ErrorCode.BAD_HTML,
        ),
        (
            TelegramBadRequest(METHOD, "Bad Request: message is too long"),
            ErrorCode.MESSAGE_TOO_LONG,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), ErrorCode.CHAT_NOT_FOUND),
        (TelegramBadRequest(METHOD, "Bad Request: wrong file identifier"), ErrorCode.BAD_MEDIA),
        (TelegramBadRequest(METHOD, "Bad Request: something new"), ErrorCode.REJECTED),
        (TelegramRetryAfter(METHOD, "Too Many Requests", 5), ErrorCode.RATE_LIMITED),
        # A server error after sending may hide a published post.
        (TelegramServerError(METHOD, "Internal Server Error"), ErrorCode.SERVER_ERROR_SENT),
        (TimeoutError(), ErrorCode.TIMEOUT),
    ],
)
def test_telegram_errors_get_codes(error: Exception, code: ErrorCode) -> None:
    classified = classify_telegram_error(error)
    assert classified.code == code
    assert classified.reason  # the English details, for the log and the attempt record


async def test_the_generator_gives_a_code() -> None:
    with pytest.raises(GenerationError) as caught:
        await UnavailableGenerator().generate(None)  # type: ignore[arg-type]
    assert caught.value.code == ErrorCode.AI_NOT_CONFIGURED


def test_the_russian_sentence_says_what_to_do() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("ru"):
        text = failure_text(ErrorCode.BOT_KICKED)
    assert "Бота удалили из канала" in text
    assert "kicked" not in text


def test_x_and_instagram_errors_get_codes() -> None:
    from instagrapi import exceptions as ig

    from platforms.instagram import classify_instagram_error
    from platforms.x import _status_error

    assert _status_error(401, 0.0, None).code == ErrorCode.INVALID_CREDENTIALS
    assert _status_error(429, 0.0, None).code == ErrorCode.RATE_LIMITED
    assert _status_error(503, 0.0, None).code == ErrorCode.SERVER_ERROR_SENT
    assert _status_error(503, 0.0, None, sent=False).code == ErrorCode.SERVER_ERROR
    assert classify_instagram_error(ig.ChallengeRequired()).code == (ErrorCode.CHALLENGE_REQUIRED)
    assert classify_instagram_error(ig.LoginRequired()).code == ErrorCode.INVALID_CREDENTIALS
