"""Instagram text cards: render time for the worst captions (issue 10: a 2,200-character
unbroken word took 173 s of CPU, CJK 104 s, blocking the publishing run for everyone).

Each input is a 2,200-character caption (Instagram's limit) under a title; the card is
rendered as publishing renders it (content.cards.render_card, in this thread: the time is
CPU). Reported: median and worst of the runs, the font size chosen and how many of the
caption's characters the card shows (the rest is cut with an ellipsis, or with a marker where
a script the font lacks begins). Goal: ≤ 1 s each, any script."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from content.cards import _fallback_font_path, layout_card, render_card

CAPTION = 2200
GOAL_SECONDS = 1.0


def _worst_inputs() -> dict[str, str]:
    def repeat(unit: str) -> str:
        return (unit * (CAPTION // len(unit) + 1))[:CAPTION]

    return {
        "one unbroken Latin word": "x" * CAPTION,
        "one unbroken Cyrillic word": "щ" * CAPTION,
        "CJK, no spaces": repeat("人工智能正在改变我们的工作方式。"),
        "Japanese kana and kanji": repeat("今日はとても良い天気ですね。"),
        "Latin words": repeat("lorem ipsum dolor sit amet "),
        "Cyrillic words": repeat("съешь же ещё этих мягких булок "),
        "emoji": repeat("😀🎉🚀"),
        "mixed scripts": repeat("Новости 新闻 news 😀 "),
        "a word a line long, repeated": repeat("y" * 60 + " "),
    }


async def bench_cards(folder: Path, quick: bool, report: list[str]) -> None:
    runs = 2 if quick else 5
    fallback = _fallback_font_path()
    report += [
        "### Instagram cards: render time of a 2,200-character caption",
        "",
        f"{runs} runs each, 1080×1080 JPEG; CJK fallback font: "
        + (f"`{fallback}`" if fallback else "none found (CJK is cut with a marker)"),
        "",
        "| caption | median | worst | font px | characters shown |",
        "|---|---:|---:|---:|---|",
    ]
    slowest = 0.0
    for name, text in _worst_inputs().items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            render_card("A title for the card", text)
            times.append(time.perf_counter() - started)
        layout = layout_card("A title for the card", text)
        size = getattr(layout.body_font, "size", "?")
        shown = sum(len(line.replace(" ", "")) for line in layout.body_lines)
        slowest = max(slowest, max(times))
        report.append(
            f"| {name} | {statistics.median(times):.3f} s | {max(times):.3f} s | {size} | "
            f"{shown:,} of {len(text.replace(' ', '')):,} |"
        )
    verdict = "met" if slowest <= GOAL_SECONDS else "NOT met"
    report += ["", f"Goal ≤ {GOAL_SECONDS:.0f} s per card: {verdict} (worst {slowest:.3f} s).", ""]
