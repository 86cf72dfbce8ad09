"""From the services' figures to a picture and its caption: the labels are translated here
(in the user's language, already set by the i18n middleware), the drawing is content's."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

from content.charts import (
    Block,
    ChartError,
    StatsPicture,
    WeekPicture,
    render_async,
    render_stats,
    render_week,
)
from handlers.charts import texts
from services.stats import KINDS, WEEK_KINDS, Activity, WeekPlan

log = logging.getLogger(__name__)
# The days /stats covers (today included).
STATS_DAYS = 14


@dataclass(frozen=True)
class Drawn:
    """A caption and, unless drawing failed (`png` None), its picture."""

    png: bytes | None
    caption: str
    filename: str


def week_picture(plan: WeekPlan, language: str) -> WeekPicture:
    labels = texts.kind_labels()
    present = {e.kind for e in plan.entries} | {k for day in plan.counts for k in day}
    legend = {k: labels[k] for k in (*WEEK_KINDS, "rule") if k in present}
    blocks = [
        Block(
            day=entry.day,
            minute=entry.local.hour * 60 + entry.local.minute,
            kind=entry.kind,
            label=entry.target,
            ghost=entry.ghost,
        )
        for entry in plan.entries
    ]
    return WeekPicture(
        title=texts.week_title(plan, language),
        day_labels=[texts.day_label(day, language) for day in plan.days],
        blocks=blocks,
        legend=legend,
        today=plan.today,
        empty_label=texts.week_empty(),
        not_listed=plan.not_listed(),
    )


def stats_picture(activity: Activity, language: str, *, by_platform: bool) -> StatsPicture:
    labels = texts.kind_labels()
    return StatsPicture(
        title=texts.activity_title(activity),
        day_labels=[texts.short_day(day, language) for day in activity.days],
        per_day={kind: activity.series(kind) for kind in KINDS},
        legend={kind: labels[kind] for kind in KINDS},
        per_day_title=texts.per_day_title(),
        groups_title=texts.per_group_title(by_platform),
        groups=[
            (texts.group_label(group, by_platform), group.counts)
            for group in activity.groups
            if group.total
        ],
        tokens_title=texts.tokens_title(),
        tokens=list(activity.tokens),
        empty_label=texts.stats_empty(),
        others_label=texts.others_label(),
    )


async def draw_week(plan: WeekPlan, language: str) -> Drawn:
    caption = texts.week_caption(plan, language)
    try:
        png = await render_async(render_week, week_picture(plan, language))
    except ChartError as exc:
        log.warning("no picture, the caption alone: %s", exc)
        return Drawn(None, caption, "")
    return Drawn(png, caption, f"week-{plan.days[0].isoformat()}.png")


async def draw_activity(activity: Activity, language: str, *, by_platform: bool) -> Drawn:
    caption = texts.activity_caption(activity, by_platform=by_platform)
    try:
        png = await render_async(
            render_stats, stats_picture(activity, language, by_platform=by_platform)
        )
    except ChartError as exc:
        log.warning("no picture, the caption alone: %s", exc)
        return Drawn(None, caption, "")
    return Drawn(png, caption, f"stats-{activity.days[-1].isoformat()}.png")


async def send_drawn(message: Message, drawn: Drawn, markup: InlineKeyboardMarkup) -> None:
    if drawn.png is None:
        await message.answer(texts.picture_failed() + "\n\n" + drawn.caption, reply_markup=markup)
        return
    await message.answer_photo(
        BufferedInputFile(drawn.png, drawn.filename), caption=drawn.caption, reply_markup=markup
    )
