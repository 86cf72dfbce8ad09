"""A target's posting schedule (issue 12): the local times a queued post may go out, per
weekday, stored through `storage.types.PydanticJSON` on `targets.posting_slots`.

The week is seven tuples of local "HH:MM" (Monday first), sorted and without repeats, so two
equal schedules are equal models and the chat can compare them. The zone is not stored here:
slots are read in the owner's zone at the time they are computed (services/queues.py)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAYS_IN_WEEK = 7
# Bounds, so that a typed schedule cannot make the slot computation heavy.
MAX_TIMES_PER_DAY = 24


class PostingSlots(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    week: tuple[tuple[str, ...], ...] = ((),) * DAYS_IN_WEEK

    @field_validator("week", mode="before")
    @classmethod
    def _seven_days(cls, value: Any) -> Any:
        if value is None:
            return ((),) * DAYS_IN_WEEK
        days = [tuple(day or ()) for day in value]
        if len(days) != DAYS_IN_WEEK:
            raise ValueError("a week has seven days")
        normalized = []
        for day in days:
            times = sorted({str(t) for t in day})
            if len(times) > MAX_TIMES_PER_DAY:
                raise ValueError(f"at most {MAX_TIMES_PER_DAY} times a day")
            for time in times:
                if not _HHMM_RE.match(time):
                    raise ValueError(f"time {time!r} is not HH:MM")
            normalized.append(tuple(times))
        return tuple(normalized)

    @property
    def is_set(self) -> bool:
        return any(self.week)

    def groups(self) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
        """Days (1 = Monday … 7 = Sunday) that share the same times, in week order."""
        by_times: dict[tuple[str, ...], list[int]] = {}
        for number, times in enumerate(self.week, start=1):
            if times:
                by_times.setdefault(times, []).append(number)
        return [(tuple(days), times) for times, days in by_times.items()]

    @classmethod
    def every_day(cls, *times: str) -> PostingSlots:
        return cls(week=(tuple(times),) * DAYS_IN_WEEK)


def posting_slots_of(value: Any) -> PostingSlots:
    if isinstance(value, PostingSlots):
        return value
    return PostingSlots.model_validate(value or {})


__all__ = ["DAYS_IN_WEEK", "MAX_TIMES_PER_DAY", "PostingSlots", "posting_slots_of"]
