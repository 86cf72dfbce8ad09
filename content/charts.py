"""Pictures for the chat: the week's plan as a 7-day grid, and activity charts (posts per day
by status, per target, AI tokens per day). Pure rendering from plain data: every label comes
in already translated, every number already counted (services/stats.py).

matplotlib is imported on first use, not with this module (most processes never draw), and
only through its object API (`Figure` + `FigureCanvasAgg`): pyplot's global figures and
state are never touched, so two renders cannot see each other's figures.

Bounded: the figure size and DPI are fixed; a day shows at most MAX_BLOCKS_PER_DAY blocks in
at most MAX_LANES side by side (the rest are summarised as "+N" under the day); a chart
shows at most MAX_DAYS days and MAX_GROUPS groups. `render_async` runs one render at a time
per process in a thread, under a timeout. Text is drawn with the fonts in content/fonts
(DejaVu: Latin, Greek, Cyrillic); characters they lack (emoji, CJK) are left out rather than
drawn as boxes."""

from __future__ import annotations

import asyncio
import gc
import io
import threading
import unicodedata
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontProperties

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR_FONT = FONTS_DIR / "DejaVuSans.ttf"
BOLD_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"

DPI = 100
WEEK_SIZE = (12.0, 8.0)  # inches: 1200 × 800 px
STATS_SIZE = (12.0, 11.0)  # 1200 × 1100 px
MAX_BLOCKS_PER_DAY = 20
MAX_LANES = 3
MAX_DAYS = 31
MAX_GROUPS = 10
MAX_LABEL = 40
# A block is drawn this tall whatever the post (a post has a moment, not a duration).
BLOCK_MINUTES = 50
RENDER_TIMEOUT = 20.0

# The kinds a block or a bar can be, in legend order, with their colours.
PALETTE: dict[str, str] = {
    "scheduled": "#3b82f6",
    "queued": "#06b6d4",
    "awaiting_approval": "#f59e0b",
    "published": "#22c55e",
    "failed": "#ef4444",
    "unknown": "#a855f7",
    "cancelled": "#9ca3af",
    "rule": "#cbd5e1",
}
INK = "#1f2933"
GRID = "#e5e7eb"
TODAY = "#fef9c3"
BACKGROUND = "#ffffff"


class ChartError(RuntimeError):
    """A picture could not be drawn in time (or at all): the caller sends text instead."""


# ---------------------------------------------------------------- the data


@dataclass(frozen=True)
class Block:
    """One post (or one rule run to come, `ghost`) in the week grid."""

    day: int  # 0..6 from the first day shown
    minute: int  # minutes since the local midnight
    kind: str  # a PALETTE key
    label: str
    ghost: bool = False


@dataclass(frozen=True)
class WeekPicture:
    title: str
    day_labels: Sequence[str]  # seven
    blocks: Sequence[Block]
    legend: Mapping[str, str]  # kind → label, for the kinds to explain
    today: int | None = None
    empty_label: str = ""
    # Per day, posts counted but not passed as blocks (the caller's row limit): "+N" too.
    not_listed: Sequence[int] = ()


@dataclass(frozen=True)
class StatsPicture:
    title: str
    day_labels: Sequence[str]
    per_day: Mapping[str, Sequence[int]]  # kind → one count per day
    legend: Mapping[str, str]
    per_day_title: str
    groups_title: str
    groups: Sequence[tuple[str, Mapping[str, int]]]  # label → kind → count
    tokens_title: str
    tokens: Sequence[int]  # one per day
    empty_label: str = ""
    others_label: str = "…"


@dataclass
class _Placed:
    block: Block
    lane: int


@dataclass
class _Day:
    placed: list[_Placed] = field(default_factory=list)
    lanes: int = 1
    hidden: int = 0


# ---------------------------------------------------------------- matplotlib, lazily


@lru_cache(maxsize=1)
def _matplotlib() -> dict[str, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ft2font import FT2Font
    from matplotlib.patches import Patch, Rectangle

    return {
        "Figure": Figure,
        "Canvas": FigureCanvasAgg,
        "FontProperties": FontProperties,
        "FT2Font": FT2Font,
        "Patch": Patch,
        "Rectangle": Rectangle,
    }


def _font(size: float, bold: bool = False) -> FontProperties:
    path = BOLD_FONT if bold else REGULAR_FONT
    font_properties = _matplotlib()["FontProperties"]
    if path.is_file():
        return font_properties(fname=str(path), size=size)  # type: ignore[no-any-return]
    return font_properties(family="DejaVu Sans", size=size)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _glyphs() -> Callable[[str], bool]:
    """Whether the regular font has a glyph for a character."""
    if not REGULAR_FONT.is_file():
        return lambda character: character.isascii()
    face = _matplotlib()["FT2Font"](str(REGULAR_FONT))
    known: dict[str, bool] = {}

    def has(character: str) -> bool:
        found = known.get(character)
        if found is None:
            found = known[character] = face.get_char_index(ord(character)) != 0
        return found

    return has


def drawable(text: str, limit: int = MAX_LABEL) -> str:
    """`text` on one line, without what the font cannot draw, cut at `limit` characters.
    matplotlib reads `$…$` as mathematics: dollars are escaped."""
    has = _glyphs()
    kept = []
    for character in " ".join(text.split()):
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co"):
            continue
        if character == " " or has(character):
            kept.append(character)
    cleaned = " ".join("".join(kept).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: max(1, limit - 1)].rstrip() + "…"
    return cleaned.replace("$", r"\$")


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND)
    finally:
        # A figure is a web of reference cycles (artists ↔ axes ↔ figure ↔ canvas): left to
        # the cyclic collector, several renders' worth pile up before it runs. The young
        # generations only: a full collection of the bot's heap holds the GIL (the event
        # loop) for a large fraction of a second.
        figure.clear()
        gc.collect(1)
    return buffer.getvalue()


def _new_figure(size: tuple[float, float]) -> Any:
    mpl = _matplotlib()
    figure = mpl["Figure"](figsize=size, dpi=DPI, facecolor=BACKGROUND)
    mpl["Canvas"](figure)
    return figure


def _legend(figure: Any, legend: Mapping[str, str], kinds: Sequence[str]) -> None:
    patch = _matplotlib()["Patch"]
    handles = [
        patch(
            facecolor=PALETTE.get(kind, "#888888"),
            edgecolor="#64748b" if kind == "rule" else "none",
            hatch="//" if kind == "rule" else None,
            label=drawable(legend[kind], 30),
        )
        for kind in kinds
        if kind in legend
    ]
    if handles:
        figure.legend(
            handles=handles,
            loc="lower center",
            ncol=min(len(handles), 7),
            frameon=False,
            prop=_font(10),
        )


# ---------------------------------------------------------------- the week


def place_blocks(blocks: Sequence[Block]) -> list[_Day]:
    """Each day's blocks in lanes (side by side where they would overlap), at most
    MAX_LANES lanes and MAX_BLOCKS_PER_DAY blocks; what does not fit is counted as hidden."""
    days = [_Day() for _ in range(7)]
    by_day: list[list[Block]] = [[] for _ in range(7)]
    for block in blocks:
        if 0 <= block.day < 7:
            by_day[block.day].append(block)
    for day, items in zip(days, by_day, strict=True):
        lane_ends: list[int] = []
        for block in sorted(items, key=lambda b: (b.minute, b.ghost, b.label)):
            if len(day.placed) >= MAX_BLOCKS_PER_DAY:
                day.hidden += 1
                continue
            minute = max(0, min(block.minute, 24 * 60 - 1))
            lane = next((i for i, end in enumerate(lane_ends) if end <= minute), None)
            if lane is None and len(lane_ends) < MAX_LANES:
                lane_ends.append(0)
                lane = len(lane_ends) - 1
            if lane is None:
                day.hidden += 1
                continue
            lane_ends[lane] = minute + BLOCK_MINUTES
            day.placed.append(_Placed(block, lane))
        day.lanes = max(1, len(lane_ends))
    return days


def _hour_range(days: Sequence[_Day]) -> tuple[int, int]:
    minutes = [p.block.minute for day in days for p in day.placed]
    first = min([7 * 60, *minutes]) // 60
    last = max([23 * 60, *(m + BLOCK_MINUTES for m in minutes)])
    return first, min(24, -(-last // 60))


def render_week(picture: WeekPicture) -> bytes:
    """A PNG of the week: a column per day, the hours down the side, a coloured block per
    post at its local time (rule runs to come hatched and pale), "+N" under a day for what
    did not fit, the legend below."""
    rectangle = _matplotlib()["Rectangle"]
    figure = _new_figure(WEEK_SIZE)
    figure.suptitle(drawable(picture.title, 90), fontproperties=_font(15, bold=True), y=0.975)
    axes: Axes = figure.add_axes((0.065, 0.1, 0.925, 0.78))
    days = place_blocks(picture.blocks)
    first, last = _hour_range(days)
    axes.set_xlim(0, 7)
    axes.set_ylim(last, first)  # the morning on top
    axes.xaxis.tick_top()
    axes.set_xticks([d + 0.5 for d in range(7)])
    axes.set_xticklabels(
        [drawable(label, 20) for label in picture.day_labels[:7]], fontproperties=_font(11)
    )
    step = 1 if last - first <= 12 else 2
    hours = list(range(first, last + 1, step))
    axes.set_yticks(hours)
    axes.set_yticklabels([f"{h:02d}:00" for h in hours], fontproperties=_font(9))
    axes.tick_params(length=0, colors=INK)
    for side in axes.spines.values():
        side.set_color(GRID)
    for hour in range(first, last + 1):
        axes.axhline(hour, color=GRID, linewidth=0.6, zorder=0)
    for boundary in range(1, 7):
        axes.axvline(boundary, color="#cbd5e1", linewidth=1.0, zorder=1)
    if picture.today is not None and 0 <= picture.today < 7:
        axes.add_patch(
            rectangle((picture.today, first), 1, last - first, facecolor=TODAY, zorder=0)
        )
    label_font = _font(7.5)
    column_px = WEEK_SIZE[0] * DPI * 0.925 / 7
    for index, day in enumerate(days):
        if index < len(picture.not_listed):
            day.hidden += max(0, picture.not_listed[index])
        width = 1 / day.lanes
        # DejaVu at 7.5 pt is at most ~5.7 px a character: the label stays in its block
        # (clipping each label to its block would double the drawing time).
        characters = max(3, int(column_px * width / 5.8))
        for placed in day.placed:
            block = placed.block
            top = block.minute / 60
            height = min(BLOCK_MINUTES / 60, last - top)
            x = index + placed.lane * width
            axes.add_patch(
                rectangle(
                    (x + 0.02, top + 0.02),
                    width - 0.04,
                    max(0.1, height - 0.04),
                    facecolor=PALETTE.get(block.kind, "#888888"),
                    edgecolor="#64748b" if block.ghost else "white",
                    linestyle="--" if block.ghost else "-",
                    hatch="//" if block.ghost else None,
                    alpha=0.55 if block.ghost else 0.95,
                    linewidth=0.8,
                    zorder=2,
                )
            )
            stamp = f"{block.minute // 60:02d}:{block.minute % 60:02d}"
            axes.text(
                x + 0.05,
                top + min(height, BLOCK_MINUTES / 60) / 2,
                drawable(f"{stamp} {block.label}", characters),
                fontproperties=label_font,
                color=INK if block.ghost else "white",
                va="center",
                ha="left",
                zorder=3,
            )
        if day.hidden:
            axes.text(
                index + 0.5,
                last - 0.15,
                f"+{day.hidden}",
                fontproperties=_font(11, bold=True),
                color="#b91c1c",
                ha="center",
                va="bottom",
                zorder=4,
            )
    if not picture.blocks and picture.empty_label:
        axes.text(
            3.5,
            (first + last) / 2,
            drawable(picture.empty_label, 80),
            fontproperties=_font(14),
            color="#64748b",
            ha="center",
            va="center",
        )
    _legend(figure, picture.legend, list(PALETTE))
    return _png(figure)


# ---------------------------------------------------------------- activity


def _stacked_days(axes: Axes, picture: StatsPicture, kinds: Sequence[str]) -> None:
    count = min(len(picture.day_labels), MAX_DAYS)
    positions = list(range(count))
    bottom = [0] * count
    for kind in kinds:
        values = list(picture.per_day.get(kind, ()))[:count]
        values += [0] * (count - len(values))
        if not any(values):
            continue
        axes.bar(positions, values, bottom=bottom, color=PALETTE.get(kind, "#888"), width=0.75)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in zip(positions, bottom, strict=True):
        if total:
            axes.text(x, total, str(total), ha="center", va="bottom", fontproperties=_font(8))
    axes.set_xticks(positions)
    axes.set_xticklabels(
        [drawable(label, 12) for label in picture.day_labels[:count]],
        fontproperties=_font(8),
        rotation=45 if count > 10 else 0,
    )
    axes.set_ylim(0, max([1, *bottom]) * 1.18)
    axes.set_title(drawable(picture.per_day_title, 80), fontproperties=_font(11, bold=True))


def _groups(axes: Axes, picture: StatsPicture, kinds: Sequence[str]) -> None:
    groups = list(picture.groups)
    if len(groups) > MAX_GROUPS:
        rest: dict[str, int] = {}
        for _label, counts in groups[MAX_GROUPS - 1 :]:
            for kind, value in counts.items():
                rest[kind] = rest.get(kind, 0) + value
        groups = [*groups[: MAX_GROUPS - 1], (picture.others_label, rest)]
    positions = list(range(len(groups)))
    left = [0] * len(groups)
    for kind in kinds:
        values = [counts.get(kind, 0) for _label, counts in groups]
        if not any(values):
            continue
        axes.barh(positions, values, left=left, color=PALETTE.get(kind, "#888"), height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in zip(positions, left, strict=True):
        axes.text(total, y, f" {total}", va="center", fontproperties=_font(8))
    axes.set_yticks(positions)
    axes.set_yticklabels([drawable(label, 28) for label, _ in groups], fontproperties=_font(9))
    axes.invert_yaxis()
    axes.set_xlim(0, max([1, *left]) * 1.15)
    axes.set_title(drawable(picture.groups_title, 80), fontproperties=_font(11, bold=True))
    if not groups:
        axes.set_yticks([])


def _tokens(axes: Axes, picture: StatsPicture) -> None:
    count = min(len(picture.day_labels), MAX_DAYS)
    values = list(picture.tokens)[:count]
    values += [0] * (count - len(values))
    axes.bar(list(range(count)), values, color="#6366f1", width=0.75)
    axes.set_xticks(list(range(count)))
    axes.set_xticklabels(
        [drawable(label, 12) for label in picture.day_labels[:count]],
        fontproperties=_font(8),
        rotation=45 if count > 10 else 0,
    )
    axes.set_ylim(0, max([1, *values]) * 1.18)
    axes.set_title(drawable(picture.tokens_title, 80), fontproperties=_font(11, bold=True))


def render_stats(picture: StatsPicture) -> bytes:
    """A PNG with three charts: posts per day stacked by status, per group (target or
    platform) stacked by status, AI tokens per day; the legend below."""
    figure = _new_figure(STATS_SIZE)
    figure.suptitle(drawable(picture.title, 90), fontproperties=_font(15, bold=True), y=0.985)
    kinds = [kind for kind in PALETTE if kind != "rule"]
    per_day = figure.add_axes((0.07, 0.68, 0.9, 0.25))
    per_group = figure.add_axes((0.22, 0.38, 0.72, 0.22))
    tokens = figure.add_axes((0.07, 0.1, 0.9, 0.2))
    _stacked_days(per_day, picture, kinds)
    _groups(per_group, picture, kinds)
    _tokens(tokens, picture)
    for axes in (per_day, per_group, tokens):
        axes.tick_params(colors=INK, length=2)
        for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
            label.set_fontproperties(_font(8))
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    if not any(any(values) for values in picture.per_day.values()) and picture.empty_label:
        per_day.text(
            0.5,
            0.5,
            drawable(picture.empty_label, 80),
            transform=per_day.transAxes,
            ha="center",
            va="center",
            color="#64748b",
            fontproperties=_font(13),
        )
    shown = [k for k in kinds if any(picture.per_day.get(k, ())) or _in_groups(picture, k)]
    _legend(figure, picture.legend, shown)
    return _png(figure)


def _in_groups(picture: StatsPicture, kind: str) -> bool:
    return any(counts.get(kind) for _label, counts in picture.groups)


# ---------------------------------------------------------------- bounded rendering

Picture = TypeVar("Picture", WeekPicture, StatsPicture)
# One render at a time per process: per event loop an asyncio semaphore (so that waiting
# costs no thread), and a lock for the threads themselves (two loops in one process).
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_drawing = threading.Lock()


def _turn() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    semaphore = _turns.get(loop)
    if semaphore is None:
        semaphore = _turns[loop] = asyncio.Semaphore(1)
    return semaphore


def _locked(render: Callable[[Picture], bytes], picture: Picture) -> bytes:
    with _drawing:
        return render(picture)


async def render_async(
    render: Callable[[Picture], bytes], picture: Picture, *, within: float = RENDER_TIMEOUT
) -> bytes:
    """`render(picture)` in a thread, one at a time, within `within` seconds (waiting for
    the turn included), else ChartError. A render that overruns keeps its turn until its
    thread ends: the next one never runs beside it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    turn = _turn()
    try:
        await asyncio.wait_for(turn.acquire(), within)
    except TimeoutError:
        raise ChartError("waited too long for the previous picture") from None
    try:
        task = asyncio.ensure_future(asyncio.to_thread(_locked, render, picture))
    except BaseException:
        turn.release()
        raise
    task.add_done_callback(lambda _task: turn.release())
    try:
        return await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - loop.time()))
    except TimeoutError:
        task.add_done_callback(_consume)
        raise ChartError(f"the picture took longer than {within:.0f} s") from None
    except ChartError:
        raise
    except Exception as exc:  # a bug in drawing: the caller still answers, in text
        raise ChartError(f"the picture failed: {type(exc).__name__}: {exc}") from exc


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
