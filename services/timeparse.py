"""What the user typed as a time, read in the user's time zone (dateparser).

dateparser reads the calendar part on naive local wall-clock time; the zone is attached
afterwards with zoneinfo, so daylight-saving gaps and repeats follow PEP 495 (a time in the
spring-forward gap moves forward, a repeated autumn time means its first occurrence).
Durations ("in 2 hours", "через 15 минут") are counted on the absolute timeline instead,
because two hours from now is two real hours even across a clock change."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_UNIT_RE = (
    r"s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?|"
    r"с|сек(?:унд[уы]?)?|мин(?:ут[уы]?|\.)?|ч|час(?:а|ов)?|д(?:ень|ня|ней)?|сутки|суток|"
    r"недел[юиь]|недель"
)
_AMOUNT_RE = r"\d+(?:[.,]\d+)?|an?|one|two|одн[ау]|один|пару|пара|три"
_PART_RE = re.compile(rf"(?P<n>{_AMOUNT_RE})?\s*(?P<unit>{_UNIT_RE})\b\.?", re.IGNORECASE)
_DURATION_PREFIX_RE = re.compile(r"^(?:in|through|через|спустя)\s+(?P<rest>.+)$", re.IGNORECASE)
_HALF_RE = re.compile(
    r"^(?:half\s+an?\s+hour|полчаса|пол\s*часа)$|^(?:полтора\s+часа)$", re.IGNORECASE
)

# Parts of the day without a clock time: the hour they stand for.
_PARTS_OF_DAY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\btonight\b", re.IGNORECASE), "today 19:00"),
    (re.compile(r"\bthis\s+evening\b", re.IGNORECASE), "today 19:00"),
    (re.compile(r"\bthis\s+morning\b", re.IGNORECASE), "today 09:00"),
    (re.compile(r"\bthis\s+afternoon\b", re.IGNORECASE), "today 14:00"),
    (re.compile(r"\b(?:in\s+the\s+)?morning\b", re.IGNORECASE), "09:00"),
    (re.compile(r"\b(?:in\s+the\s+)?afternoon\b", re.IGNORECASE), "14:00"),
    (re.compile(r"\b(?:in\s+the\s+)?evening\b", re.IGNORECASE), "19:00"),
    (re.compile(r"\b(?:at\s+)?night\b", re.IGNORECASE), "22:00"),
    (re.compile(r"\bутр(?:ом|а)\b", re.IGNORECASE), "09:00"),
    (re.compile(r"\bдн[её]м\b", re.IGNORECASE), "14:00"),
    (re.compile(r"\bвечер(?:ом|а)?\b", re.IGNORECASE), "19:00"),
    (re.compile(r"\bночь[юи]\b", re.IGNORECASE), "22:00"),
]
_RU_HOUR_PART_RE = re.compile(
    r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(утра|дня|вечера|ночи)\b", re.IGNORECASE
)
_CLOCK_RE = re.compile(r"\d{1,2}[:.]\d{2}(?!\d)|\b\d{1,2}\s*(?:am|pm)\b", re.IGNORECASE)
_FILLER_RE = re.compile(r"\b(?:at|on|в|во|на)\b", re.IGNORECASE)
_DATE_HINT_RE = re.compile(r"\d{1,4}[./-]\d{1,2}|[a-zа-яё]{3,}", re.IGNORECASE)
_WORD_AMOUNTS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "одну": 1,
    "одна": 1,
    "один": 1,
    "пару": 2,
    "пара": 2,
    "two": 2,
    "три": 3,
}


def _unit_seconds(unit: str) -> int:
    unit = unit.lower()
    if unit.startswith(("нед", "w")):
        return 7 * 86400
    if unit.startswith(("сек", "s")) or unit == "с":
        return 1
    if unit.startswith(("мин", "m")):
        return 60
    if unit.startswith(("ч", "h")):
        return 3600
    return 86400


def parse_duration(text: str) -> tuple[timedelta, int] | None:
    """`in 2 hours`, `in 1 hour 30 minutes`, `через 15 минут`, `через полчаса`.

    Returns (the clock part, whole calendar days): days move the date and keep the wall
    time, even across a daylight-saving change."""
    match = _DURATION_PREFIX_RE.match(text)
    if not match:
        return None
    rest = match.group("rest").strip()
    half = _HALF_RE.match(rest)
    if half:
        minutes = 90 if "полтора" in rest.lower() else 30
        return timedelta(minutes=minutes), 0
    total = 0.0
    days = 0
    position = 0
    rest = re.sub(r"\s+(?:and|и)\s+", " ", rest, flags=re.IGNORECASE)
    for part in _PART_RE.finditer(rest):
        if rest[position : part.start()].strip():
            return None
        amount_text = (part.group("n") or "1").lower()
        word_amount = _WORD_AMOUNTS.get(amount_text)
        amount = (
            float(word_amount) if word_amount is not None else float(amount_text.replace(",", "."))
        )
        unit = _unit_seconds(part.group("unit"))
        seconds = amount * unit
        if seconds > 1e10:
            return None  # centuries ahead: not a time anyone means
        if unit >= 86400 and amount == int(amount):
            days += int(seconds // 86400)
        else:
            total += seconds
        position = part.end()
    if position == 0 or rest[position:].strip() or (total <= 0 and days <= 0):
        return None
    return timedelta(seconds=total), days


@lru_cache(maxsize=1)
def _parser() -> Any:
    # dateparser loads its language data on first use; do it once per process.
    import dateparser

    return dateparser


def _hour_with_part_of_day(match: re.Match[str]) -> str:
    hour, minute, part = int(match.group(1)), int(match.group(2) or 0), match.group(3).lower()
    if part == "утра":
        hour = 0 if hour == 12 else hour
    elif part in ("дня", "вечера"):
        hour = hour + 12 if hour < 12 else hour
    elif part == "ночи":
        hour = 0 if hour == 12 else (hour + 12 if hour >= 6 else hour)
    return f"{hour % 24:02d}:{minute:02d}"


def _spell_out_parts_of_day(text: str) -> str:
    text = _RU_HOUR_PART_RE.sub(_hour_with_part_of_day, text)
    if _CLOCK_RE.search(text):
        # "7 вечера", "9 утра": an hour with a part of the day; dateparser reads these.
        return text
    for pattern, replacement in _PARTS_OF_DAY:
        text = pattern.sub(replacement, text)
    return text


def parse_user_time(text: str, timezone: str, now: datetime) -> datetime | None:
    """Parse `text` relative to `now` in `timezone`; return an aware UTC datetime or None.

    A time of day without a date means its next occurrence ("18:00" typed at 19:00 is
    tomorrow), and a weekday means the coming one.
    """
    text = " ".join(text.strip().split())
    if not text or len(text) > 100:
        return None
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    duration = parse_duration(text)
    if duration is not None:
        clock_part, days = duration
        try:
            moment = now.astimezone(UTC) + clock_part
            if days:
                wall = moment.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
                moment = wall.replace(tzinfo=zone).astimezone(UTC)
        except OverflowError:
            return None
        return moment
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "DATE_ORDER": "DMY",
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    cleaned = _spell_out_parts_of_day(text)
    cleaned = " ".join(_FILLER_RE.sub(" ", cleaned).split())
    try:
        parsed = _parser().parse(cleaned, languages=["en", "ru"], settings=settings)
        if parsed is None:
            return None
        return _to_utc(parsed, zone, now, has_date=bool(_DATE_HINT_RE.search(cleaned)))
    except (ValueError, OverflowError, TypeError, ArithmeticError, LookupError):
        # Whatever the parser cannot make sense of is simply not a time.
        return None


def _to_utc(parsed: datetime, zone: ZoneInfo, now: datetime, *, has_date: bool) -> datetime:
    if parsed.tzinfo is not None:
        # The text named its own offset ("18:00 UTC"): honour it.
        result: datetime = parsed.astimezone(UTC)
    else:
        # fold=0: a repeated autumn time is its first occurrence; a spring-gap time is
        # read with the offset before the change, which lands after the gap.
        result = parsed.replace(tzinfo=zone).astimezone(UTC)
    # "18:00" alone at 19:00 means tomorrow, not an hour ago.
    if result <= now.astimezone(UTC) and not has_date:
        next_day = parsed.replace(tzinfo=None) + timedelta(days=1)
        result = next_day.replace(tzinfo=zone).astimezone(UTC)
    return result
