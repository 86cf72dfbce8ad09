"""Natural-language times in Russian and English, read in the user's zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.clock import ManualClock
from services.timeparse import parse_user_time


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


BERLIN_SPRING = ("Europe/Berlin", utc(2026, 3, 28, 12, 0))  # Sat 13:00 CET; CEST tomorrow 02:00
BERLIN_AUTUMN = ("Europe/Berlin", utc(2026, 10, 24, 12, 0))  # Sat 14:00 CEST; CET tomorrow
NY_SPRING = ("America/New_York", utc(2026, 3, 7, 17, 0))  # Sat 12:00 EST; EDT tomorrow
NY_AUTUMN = ("America/New_York", utc(2026, 10, 31, 16, 0))  # Sat 12:00 EDT; EST tomorrow
TOKYO = ("Asia/Tokyo", utc(2026, 12, 1, 9, 0))  # Tue 18:00 JST, no DST

CASES = [
    (BERLIN_SPRING, "завтра в 10:00", utc(2026, 3, 29, 8, 0)),
    (BERLIN_SPRING, "tomorrow 10:00", utc(2026, 3, 29, 8, 0)),
    (BERLIN_SPRING, "in 24 hours", utc(2026, 3, 29, 12, 0)),
    (BERLIN_SPRING, "через 1 день", utc(2026, 3, 29, 11, 0)),  # same wall time, CEST
    (BERLIN_SPRING, "2026-03-29 02:30", utc(2026, 3, 29, 1, 30)),  # in the gap: 03:30 CEST
    (BERLIN_SPRING, "сегодня вечером", utc(2026, 3, 28, 18, 0)),
    (BERLIN_SPRING, "tonight", utc(2026, 3, 28, 18, 0)),
    (BERLIN_SPRING, "понедельник 9:00", utc(2026, 3, 30, 7, 0)),
    (BERLIN_SPRING, "in 2 hours", utc(2026, 3, 28, 14, 0)),
    (BERLIN_AUTUMN, "завтра в 12:00", utc(2026, 10, 25, 11, 0)),
    (BERLIN_AUTUMN, "tomorrow morning", utc(2026, 10, 25, 8, 0)),
    (BERLIN_AUTUMN, "2026-10-25 02:30", utc(2026, 10, 25, 0, 30)),  # repeated: the first one
    (BERLIN_AUTUMN, "через 15 минут", utc(2026, 10, 24, 12, 15)),
    (BERLIN_AUTUMN, "friday 9:30", utc(2026, 10, 30, 8, 30)),
    (BERLIN_AUTUMN, "01.11.2026 18:00", utc(2026, 11, 1, 17, 0)),
    (NY_SPRING, "tomorrow at 9:30", utc(2026, 3, 8, 13, 30)),
    (NY_SPRING, "завтра в 9:30", utc(2026, 3, 8, 13, 30)),
    (NY_SPRING, "in 3 hours", utc(2026, 3, 7, 20, 0)),
    (NY_SPRING, "this evening", utc(2026, 3, 8, 0, 0)),
    (NY_SPRING, "пятница 9:30", utc(2026, 3, 13, 13, 30)),
    (NY_SPRING, "2026-12-01 18:00", utc(2026, 12, 1, 23, 0)),
    (NY_AUTUMN, "tomorrow 10:00", utc(2026, 11, 1, 15, 0)),
    (NY_AUTUMN, "через 2 часа", utc(2026, 10, 31, 18, 0)),
    (NY_AUTUMN, "сегодня в 21:00", utc(2026, 11, 1, 1, 0)),
    (NY_AUTUMN, "18:00", utc(2026, 10, 31, 22, 0)),
    (NY_AUTUMN, "next monday 10:00", utc(2026, 11, 2, 15, 0)),
    (TOKYO, "завтра в 18:00", utc(2026, 12, 2, 9, 0)),
    (TOKYO, "in half an hour", utc(2026, 12, 1, 9, 30)),
    (TOKYO, "через полчаса", utc(2026, 12, 1, 9, 30)),
    (TOKYO, "8:00", utc(2026, 12, 1, 23, 0)),  # passed today: tomorrow morning
    (TOKYO, "tonight", utc(2026, 12, 1, 10, 0)),
    (TOKYO, "завтра утром", utc(2026, 12, 2, 0, 0)),
    (TOKYO, "1 января 10:00", utc(2027, 1, 1, 1, 0)),
    (TOKYO, "December 31 23:59", utc(2026, 12, 31, 14, 59)),
    (TOKYO, "в 7 вечера", utc(2026, 12, 1, 10, 0)),
    (TOKYO, "послезавтра в 12:00", utc(2026, 12, 3, 3, 0)),
    (TOKYO, "in 1 hour 30 minutes", utc(2026, 12, 1, 10, 30)),
    (TOKYO, "через 2 недели", utc(2026, 12, 15, 9, 0)),
]


@pytest.mark.parametrize(
    ("where", "phrase", "expected"),
    CASES,
    ids=[f"{zone}-{now:%m%d}-{phrase}" for (zone, now), phrase, _e in CASES],
)
def test_phrase_in_zone(where: tuple[str, datetime], phrase: str, expected: datetime) -> None:
    zone, start = where
    clock = ManualClock(start)
    assert parse_user_time(phrase, zone, clock.now()) == expected


@pytest.mark.parametrize("phrase", ["", "   ", "когда-нибудь потом", "hello there", "x" * 300])
def test_nonsense_is_not_a_time(phrase: str) -> None:
    assert parse_user_time(phrase, "Europe/Berlin", utc(2026, 12, 1, 9, 0)) is None


def test_every_answer_is_an_aware_utc_time_after_now() -> None:
    """What the parser returns is stored as it is: UTC, aware, and never in the past (a time
    of day already gone today means tomorrow)."""
    for (zone, now), phrase, _expected in CASES:
        when = parse_user_time(phrase, zone, now)
        assert when is not None, phrase
        assert when.utcoffset() == timedelta(0), phrase
        assert when > now, f"{phrase!r} in {zone} is in the past: {when}"


# The same request in both languages.
BILINGUAL = [
    ("tomorrow 10:00", "завтра в 10:00"),
    ("in 2 hours", "через 2 часа"),
    ("in half an hour", "через полчаса"),
    ("tonight", "сегодня вечером"),
    ("friday 9:30", "пятница 9:30"),
]


@pytest.mark.parametrize("where", [BERLIN_SPRING, BERLIN_AUTUMN, NY_SPRING, NY_AUTUMN, TOKYO])
@pytest.mark.parametrize(("english", "russian"), BILINGUAL)
def test_russian_and_english_mean_the_same_instant(
    where: tuple[str, datetime], english: str, russian: str
) -> None:
    """A Russian speaker and an English speaker asking the same thing, in the same zone, on
    the eve of a DST change or not, get the same publication time."""
    zone, now = where
    in_english = parse_user_time(english, zone, now)
    assert in_english is not None
    assert parse_user_time(russian, zone, now) == in_english
