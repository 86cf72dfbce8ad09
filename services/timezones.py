"""A time zone from what a person types: an IANA name, a city (English or Russian, from
the CLDR city names Babel ships), or a UTC offset such as `+3` or `UTC-5`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_OFFSET_RE = re.compile(
    r"^(?:utc|gmt|мск\s*)?\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?:[:.]?(?P<m>\d{2}))?$",
    re.IGNORECASE,
)
# Names people type that CLDR spells differently or does not list as a zone's city.
_ALIASES = {
    "мск": "Europe/Moscow",
    "питер": "Europe/Moscow",
    "спб": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "нью-йорк": "America/New_York",
    "new york city": "America/New_York",
    "nyc": "America/New_York",
    "la": "America/Los_Angeles",
    "сан-франциско": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "washington": "America/New_York",
    "вашингтон": "America/New_York",
    "utc": "UTC",
    "gmt": "UTC",
    "мир": "UTC",
    "beijing": "Asia/Shanghai",
    "пекин": "Asia/Shanghai",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "дели": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "kyiv": "Europe/Kyiv",
    "kiev": "Europe/Kyiv",
    "киев": "Europe/Kyiv",
    "киів": "Europe/Kyiv",
}


def _normalise(text: str) -> str:
    text = text.strip().lower().replace("ё", "е").replace("_", " ")
    return " ".join(text.replace("-", " ").split())


@lru_cache(maxsize=1)
def canonical_zones() -> list[str]:
    """Zones from tzdata's zone.tab (one per region, current names) first, then the rest,
    so that "London" finds Europe/London, not an old alias such as Europe/Belfast."""
    from importlib.resources import files

    listed: list[str] = []
    try:
        table = files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        table = ""
    for line in table.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) >= 3:
                listed.append(fields[2])
    rest = sorted(available_timezones() - set(listed))
    return sorted(listed) + rest


@lru_cache(maxsize=1)
def _city_index() -> dict[str, str]:
    from babel.dates import get_timezone_location

    index: dict[str, str] = {}
    zones = [z for z in canonical_zones() if "/" in z and not z.startswith("Etc/")]
    for zone in zones:
        index.setdefault(_normalise(zone.rsplit("/", 1)[-1]), zone)
        for language in ("en", "ru"):
            try:
                city = get_timezone_location(zone, locale=language, return_city=True)
            except (LookupError, ValueError):
                continue
            index.setdefault(_normalise(city), zone)
    for alias, zone in _ALIASES.items():
        index[_normalise(alias)] = zone
    return index


def _zone_for_offset(sign: str, hours: int, minutes: int) -> str | None:
    if hours > 14 or minutes not in (0, 15, 30, 45):
        return None
    if minutes == 0:
        if hours == 0:
            return "UTC"
        # POSIX "Etc/GMT" zones count the other way round: UTC+3 is Etc/GMT-3.
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    total = (hours * 60 + minutes) * (1 if sign == "+" else -1)
    now = datetime.now(UTC)
    for zone in canonical_zones():
        try:
            offset = now.astimezone(ZoneInfo(zone)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError):
            continue
        if offset is not None and int(offset.total_seconds() // 60) == total:
            return zone
    return None


def resolve_timezone(text: str) -> str | None:
    """The IANA zone a person meant, or None when nothing matches."""
    raw = " ".join(text.strip().split())
    if not raw or len(raw) > 64:
        return None
    match = _OFFSET_RE.match(raw.replace(" ", ""))
    if match:
        sign = "-" if match.group("sign") in "-−" else "+"
        return _zone_for_offset(sign, int(match.group("h")), int(match.group("m") or 0))
    if "/" in raw:
        candidates = {z.lower(): z for z in available_timezones()}
        zone = candidates.get(raw.replace(" ", "_").lower())
        if zone:
            return zone
    if raw.upper() in ("UTC", "GMT"):
        return "UTC"
    return _city_index().get(_normalise(raw))


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
