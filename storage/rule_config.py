"""The typed parts of an auto-posting rule, stored through `storage.types.PydanticJSON`:

- `ScheduleSpec`: a tagged union (`kind`) of daily times × weekdays, weekly, every N hours
  and cron;
- `ContentConfig`: what a run posts, an AI brief (topic, style) or a fixed text;
- `QuietHours`: a local window in which the rule does not post.

Rows written before these models existed hold the same JSON without a `kind`: the models
read them (the kind is inferred from the keys, `prompt` is the old name of `description`).
The models check the shape only; whether a time or a cron expression makes sense is
decided by `services.schedule` (a row with a bad value still loads, and the worker tells
its owner instead of failing on every rule).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)  # Monday = 1 … Sunday = 7, as the seed numbers them
DEFAULT_APPROVAL_WINDOW_MINUTES = 60
ScheduleKind = Literal["daily", "weekly", "interval", "cron"]
SCHEDULE_KINDS: tuple[ScheduleKind, ...] = ("daily", "weekly", "interval", "cron")


class _Stored(BaseModel):
    # Unknown keys of old rows are dropped; a model is never changed in place.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ScheduleBase(_Stored):
    # How long a draft waits for approval before its publish time (approval mode).
    approval_window_minutes: int = DEFAULT_APPROVAL_WINDOW_MINUTES

    @field_validator("approval_window_minutes", mode="before")
    @classmethod
    def _window_or_default(cls, value: Any) -> int:
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            return DEFAULT_APPROVAL_WINDOW_MINUTES


class _TimesSchedule(_ScheduleBase):
    times: tuple[str, ...] = ()  # local "HH:MM"
    days_of_week: tuple[int, ...] = ()  # 1..7; empty means every day

    @field_validator("times", mode="before")
    @classmethod
    def _one_time_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return () if value is None else value

    @field_validator("days_of_week", mode="before")
    @classmethod
    def _no_days_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


class DailySchedule(_TimesSchedule):
    kind: Literal["daily"] = "daily"


class WeeklySchedule(_TimesSchedule):
    kind: Literal["weekly"] = "weekly"


class IntervalSchedule(_ScheduleBase):
    kind: Literal["interval"] = "interval"
    hours: float = 0
    minutes: float = 0
    start_date: str | None = None  # ISO; without it the interval counts from its anchor


class CronSchedule(_ScheduleBase):
    kind: Literal["cron"] = "cron"
    expression: str = ""


def _schedule_kind(value: Any) -> str | None:
    """The union's tag: `kind` when stored, else inferred from the keys of an old row."""
    if isinstance(value, BaseModel):
        return getattr(value, "kind", None)
    if not isinstance(value, dict):
        return None
    if value.get("kind"):
        return str(value["kind"])
    if "expression" in value:
        return "cron"
    if "hours" in value or "minutes" in value:
        return "interval"
    return "daily"


ScheduleSpec = Annotated[
    Annotated[DailySchedule, Tag("daily")]
    | Annotated[WeeklySchedule, Tag("weekly")]
    | Annotated[IntervalSchedule, Tag("interval")]
    | Annotated[CronSchedule, Tag("cron")],
    Discriminator(_schedule_kind),
]
SCHEDULE_ADAPTER: TypeAdapter[ScheduleSpec] = TypeAdapter(ScheduleSpec)


class ScheduleShapeError(ValueError):
    """A schedule whose kind is unknown or whose values have the wrong type."""


def parse_schedule(kind: str, config: Any) -> ScheduleSpec:
    """The typed schedule of `kind` from a stored config: a model (possibly tagged with
    another kind of the same shape, as old daily/weekly rows are) or a plain mapping."""
    if kind not in SCHEDULE_KINDS:
        raise ScheduleShapeError(f"unknown schedule type {kind!r}")
    if isinstance(config, BaseModel):
        data = config.model_dump(exclude={"kind"})
    else:
        data = dict(config or {})
    data["kind"] = kind
    try:
        return SCHEDULE_ADAPTER.validate_python(data)
    except ValidationError as exc:
        fields = sorted({str(error["loc"][1]) for error in exc.errors() if len(error["loc"]) > 1})
        raise ScheduleShapeError(f"{', '.join(fields) or kind} has the wrong type") from None


ContentKind = Literal["ai", "text"]


class ContentConfig(_Stored):
    """What each run posts: `kind="ai"` writes about `description` in `style`;
    `kind="text"` posts `text` as it is."""

    kind: ContentKind = "ai"
    description: str = ""  # the AI brief: a topic or an instruction
    style: str | None = None  # what the model is told about the style
    style_key: str | None = None  # the style button chosen, if one was
    text: str | None = None  # the fixed text (Telegram HTML)
    title: str | None = None
    language: str | None = None  # the owner's language when empty
    x_thread: bool = False
    hashtag_limit: int | None = None
    # The rule's zone, for the {date} and {time} of a fixed text (set when the rule is saved).
    timezone: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_old_rows(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" in data:
            return data
        data = dict(data)
        if not data.get("description") and data.get("prompt"):
            data["description"] = data["prompt"]
        data["kind"] = "text" if data.get("text") else "ai"
        return data

    @property
    def fixed_text(self) -> str | None:
        return self.text if self.kind == "text" and self.text else None

    @property
    def topic(self) -> str:
        return self.description.strip() if self.kind == "ai" else ""


# The variable parts of a fixed text, filled in at each run in the rule's zone (issue 11: a
# fixed text must differ from one run to the next).
DATE_PLACEHOLDER = "{date}"
TIME_PLACEHOLDER = "{time}"


def fill_placeholders(text: str, moment: datetime, timezone: str | None) -> str:
    """`{date}` → 2026-11-29 and `{time}` → 09:00, local to `timezone`; other braces stay."""
    if DATE_PLACEHOLDER not in text and TIME_PLACEHOLDER not in text:
        return text
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return text.replace(DATE_PLACEHOLDER, local.strftime("%Y-%m-%d")).replace(
        TIME_PLACEHOLDER, local.strftime("%H:%M")
    )


class QuietHours(_Stored):
    """Local "HH:MM" bounds, possibly across midnight; both empty means none."""

    start: str | None = None
    end: str | None = None

    @property
    def is_set(self) -> bool:
        return bool(self.start and self.end)


def content_config_of(value: Any) -> ContentConfig:
    return value if isinstance(value, ContentConfig) else ContentConfig.model_validate(value or {})


def quiet_hours_of(value: Any) -> QuietHours:
    return value if isinstance(value, QuietHours) else QuietHours.model_validate(value or {})


__all__ = [
    "ALL_DAYS",
    "DATE_PLACEHOLDER",
    "SCHEDULE_ADAPTER",
    "SCHEDULE_KINDS",
    "TIME_PLACEHOLDER",
    "ContentConfig",
    "ContentKind",
    "CronSchedule",
    "DailySchedule",
    "IntervalSchedule",
    "QuietHours",
    "ScheduleKind",
    "ScheduleShapeError",
    "ScheduleSpec",
    "WeeklySchedule",
    "content_config_of",
    "fill_placeholders",
    "parse_schedule",
    "quiet_hours_of",
]
