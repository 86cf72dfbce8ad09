"""What the user typed as a time, read in the user's time zone (dateparser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_RELATIVE_RE = re.compile(
    r"^\s*(?:in|через)\s+(?P<n>\d+(?:[.,]\d+)?)?\s*(?P<unit>"
    r"s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|"
    r"сек(?:унд[уы]?)?|мин(?:ут[уы]?)?|ч|час(?:а|ов)?|д(?:ень|ня|ней)?|сутки|суток)\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
}


def _unit_seconds(unit: str) -> int:
    unit = unit.lower()
    if unit.startswith(("сек", "s")):
        return 1
    if unit.startswith(("мин", "m")):
        return 60
    if unit.startswith(("ч", "h")):
        return 3600
    return 86400


@lru_cache(maxsize=1)
def _parser() -> Any:
    # dateparser loads its language data on first use; do it once per process.
    import dateparser

    return dateparser


def parse_user_time(text: str, timezone: str, now: datetime) -> datetime | None:
    """Parse `text` relative to `now` in `timezone`; return an aware UTC datetime or None.

    A time of day without a date means its next occurrence ("18:00" typed at 19:00 is
    tomorrow), and a weekday means the coming one.
    """
    text = " ".join(text.strip().split())
    if not text:
        return None
    zone = ZoneInfo(timezone)
    match = _RELATIVE_RE.match(text)
    if match:
        amount = float((match.group("n") or "1").replace(",", "."))
        return now.astimezone(UTC) + timedelta(seconds=amount * _unit_seconds(match.group("unit")))
    local_now = now.astimezone(zone)
    settings = {
        "TIMEZONE": timezone,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "DATE_ORDER": "DMY",
        "PREFER_DAY_OF_MONTH": "first",
    }
    cleaned = re.sub(r"\b(at|в|во)\b", " ", text, flags=re.IGNORECASE)
    cleaned = " ".join(cleaned.split())
    parsed = _parser().parse(cleaned, languages=["en", "ru"], settings=settings)
    if parsed is None:
        return None
    result: datetime = parsed.astimezone(UTC)
    has_date = bool(re.search(r"\d{1,4}[./-]\d{1,2}|[a-zа-я]{3,}", cleaned, re.IGNORECASE))
    # "18:00" alone at 19:00 means tomorrow, not an hour ago.
    if result <= now.astimezone(UTC) and not has_date:
        result += timedelta(days=1)
    return result


def warm_up() -> None:
    """Load dateparser's data ahead of the first user request (called off the event loop)."""
    parse_user_time("tomorrow 10:00", "UTC", datetime.now(UTC))
