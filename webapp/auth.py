"""Telegram Mini App `initData`, checked exactly as Telegram documents it
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):

    secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token)
    hash       = hex(HMAC_SHA256(key=secret_key, msg=data_check_string))

where data_check_string is every received field but `hash`, as `key=value` lines sorted by
key. The hashes are compared in constant time, and `auth_date` must be recent."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

# Telegram's initData is a few hundred bytes; anything far larger is not from Telegram.
MAX_INIT_DATA_LENGTH = 4096
# A little clock skew between Telegram and this host is tolerated, not a date in the future.
FUTURE_SKEW = timedelta(minutes=5)


class InitDataError(ValueError):
    """initData that proves nothing; `code` is the API's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class WebAppIdentity:
    user_id: int
    first_name: str
    language_code: str | None
    auth_date: datetime


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The hash Telegram puts in initData for these fields (tests and tools build initData
    with it)."""
    return hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()


def verify_init_data(
    raw: str, bot_token: str, *, now: datetime, max_age: timedelta
) -> WebAppIdentity:
    """The user initData speaks for, or InitDataError (missing, forged, altered, expired)."""
    if not raw:
        raise InitDataError("init_data_missing")
    if len(raw) > MAX_INIT_DATA_LENGTH:
        raise InitDataError("init_data_invalid")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("init_data_invalid") from None
    fields = dict(pairs)
    # A repeated key would be checked once and read twice: refuse it.
    if len(fields) != len(pairs) or "hash" not in fields:
        raise InitDataError("init_data_invalid")
    expected = sign(fields, bot_token)
    if not hmac.compare_digest(expected.encode(), fields["hash"].encode()):
        raise InitDataError("init_data_invalid")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), tz=now.tzinfo)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError, OverflowError):
        raise InitDataError("init_data_invalid") from None
    if auth_date > now + FUTURE_SKEW:
        raise InitDataError("init_data_invalid")
    if now - auth_date > max_age:
        raise InitDataError("init_data_expired")
    language = user.get("language_code")
    return WebAppIdentity(
        user_id=user_id,
        first_name=str(user.get("first_name") or ""),
        language_code=language if isinstance(language, str) else None,
        auth_date=auth_date,
    )
