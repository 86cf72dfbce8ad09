"""Near-duplicate detection for generated posts: word-shingle Jaccard similarity over
normalized text (case, punctuation, markup and hashtag signs ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from content.fitting import visible_text

_WORD_RE = re.compile(r"\w+", re.UNICODE)
DEFAULT_THRESHOLD = 0.5


def words(text: str) -> list[str]:
    return _WORD_RE.findall(visible_text(text).lower())


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    tokens = words(text)
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def similarity(first: str, second: str) -> float:
    a, b = shingles(first), shingles(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def most_similar(text: str, others: Iterable[str]) -> tuple[float, str | None]:
    best, match = 0.0, None
    for other in others:
        score = similarity(text, other)
        if score > best:
            best, match = score, other
    return best, match


def is_near_duplicate(
    text: str, others: Iterable[str], threshold: float = DEFAULT_THRESHOLD
) -> bool:
    return most_similar(text, others)[0] >= threshold
