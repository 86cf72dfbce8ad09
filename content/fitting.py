"""One place that knows each platform's text rules, used at preview time and again right
before publishing."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from enum import StrEnum

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
X_LIMIT = 280
INSTAGRAM_CAPTION_LIMIT = 2200
INSTAGRAM_HASHTAG_LIMIT = 30

_TAG_RE = re.compile(r"<[^>]+>")
_HASHTAG_RE = re.compile(r"(?<!\w)#\w+", re.UNICODE)


class Problem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NEEDS_PICTURE = "needs_picture"
    TOO_MANY_HASHTAGS = "too_many_hashtags"
    TOO_MANY_PICTURES = "too_many_pictures"


@dataclass(frozen=True)
class FitResult:
    platform: str
    length: int
    limit: int
    problems: tuple[Problem, ...] = ()
    # A text that fits, when one could be made without changing its meaning (X thread).
    parts: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def visible_text(html_text: str) -> str:
    """What a reader sees of a Telegram HTML text: Telegram counts limits on this."""
    return html.unescape(_TAG_RE.sub("", html_text))


def telegram_visible_length(title: str | None, html_text: str) -> int:
    length = len(visible_text(html_text))
    if title:
        length += len(title) + (2 if html_text else 0)
    return length


def x_weighted_length(text: str) -> int:
    from twitter_text import parse_tweet

    return int(parse_tweet(text).weightedLength)


def count_hashtags(text: str) -> int:
    return len(_HASHTAG_RE.findall(text))


def split_x_thread(text: str, limit: int = X_LIMIT) -> list[str]:
    """Split a long text into numbered tweets at sentence or word boundaries."""
    words = text.split()
    if not words:
        return []
    reserve = len(" (99/99)")
    parts: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if x_weighted_length(candidate) + reserve <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while x_weighted_length(word) + reserve > limit:
            cut = max(1, limit - reserve - 1)
            parts.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        parts.append(current)
    if len(parts) == 1:
        return parts
    return [f"{p} ({i}/{len(parts)})" for i, p in enumerate(parts, 1)]


def fit_for_platform(
    platform: str,
    text: str,
    *,
    title: str | None = None,
    pictures: int = 0,
    allow_thread: bool = False,
    hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT,
    card_available: bool = True,
) -> FitResult:
    """Check `text` (Telegram HTML for Telegram; plain elsewhere) against `platform`'s rules."""
    problems: list[Problem] = []
    if platform == "telegram":
        limit = TELEGRAM_CAPTION_LIMIT if pictures else TELEGRAM_TEXT_LIMIT
        length = telegram_visible_length(title, text)
        if length == 0 and not pictures:
            problems.append(Problem.EMPTY)
        if length > limit:
            problems.append(Problem.TOO_LONG)
        if pictures > 10:
            problems.append(Problem.TOO_MANY_PICTURES)
        return FitResult(platform, length, limit, tuple(problems))
    plain = plain_text(title, text)
    if platform == "x":
        length = x_weighted_length(plain)
        parts: tuple[str, ...] = ()
        if not plain and not pictures:
            problems.append(Problem.EMPTY)
        if length > X_LIMIT:
            if allow_thread:
                parts = tuple(split_x_thread(plain))
            else:
                problems.append(Problem.TOO_LONG)
        if pictures > 4:
            problems.append(Problem.TOO_MANY_PICTURES)
        return FitResult(platform, length, X_LIMIT, tuple(problems), parts)
    if platform == "instagram":
        length = len(plain)
        if length > INSTAGRAM_CAPTION_LIMIT:
            problems.append(Problem.TOO_LONG)
        if count_hashtags(plain) > hashtag_limit:
            problems.append(Problem.TOO_MANY_HASHTAGS)
        if not pictures and not card_available:
            problems.append(Problem.NEEDS_PICTURE)
        if not pictures and not plain:
            problems.append(Problem.EMPTY)
        if pictures > 10:
            problems.append(Problem.TOO_MANY_PICTURES)
        return FitResult(platform, length, INSTAGRAM_CAPTION_LIMIT, tuple(problems))
    raise ValueError(f"unknown platform {platform!r}")


def plain_text(title: str | None, html_text: str) -> str:
    body = visible_text(html_text).strip()
    if title:
        return f"{title}\n\n{body}" if body else title
    return body


def truncate_visible(html_text: str, limit: int) -> str:
    """A plain-text version cut to `limit` characters at a word boundary, with an ellipsis."""
    text = visible_text(html_text)
    if len(text) <= limit:
        return html.escape(text, quote=False)
    cut = text[: max(0, limit - 1)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return html.escape(cut.rstrip() + "…", quote=False)
