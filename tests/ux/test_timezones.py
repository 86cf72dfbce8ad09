from __future__ import annotations

import pytest

from services.timezones import resolve_timezone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Moscow", "Europe/Moscow"),
        ("москва", "Europe/Moscow"),
        ("Санкт-Петербург", "Europe/Moscow"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("Берлин", "Europe/Berlin"),
        ("London", "Europe/London"),
        ("Лондон", "Europe/London"),
        ("New York", "America/New_York"),
        ("Нью-Йорк", "America/New_York"),
        ("Токио", "Asia/Tokyo"),
        ("Екатеринбург", "Asia/Yekaterinburg"),
        ("Киев", "Europe/Kyiv"),
        ("+3", "Etc/GMT-3"),
        ("UTC+3", "Etc/GMT-3"),
        ("UTC-5", "Etc/GMT+5"),
        ("GMT+0", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_city_name_or_offset(typed: str, zone: str) -> None:
    assert resolve_timezone(typed) == zone


def test_half_hour_offsets_map_to_a_real_zone() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    zone = resolve_timezone("+5:30")
    assert zone is not None
    assert datetime.now(UTC).astimezone(ZoneInfo(zone)).utcoffset() == timedelta(hours=5.5)


@pytest.mark.parametrize("typed", ["", "Atlantis", "+15", "UTC+3:17", "Mars/Olympus", "x" * 80])
def test_unknown_is_none(typed: str) -> None:
    assert resolve_timezone(typed) is None
