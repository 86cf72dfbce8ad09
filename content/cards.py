"""Image cards for platforms that accept no text-only posts (Instagram): the post's title and
text, word-wrapped on a clean background, 1080×1080, as large as fits.

Pillow is CPU-bound: call `render_card_async` from the event loop. It is imported on first
use, not with this module: most bots never render a card.

The layout takes linear time whatever the text (one unbroken 2,200-character word, CJK,
emoji): every word is measured once, a word longer than a line is cut by the widths of its
characters (each measured once per size), and no more lines are laid out than the card holds.
DejaVu covers Latin, Greek and Cyrillic. For Chinese, Japanese or Korean the card uses the
first fallback font found (none is bundled: FALLBACK_FONTS lists where one is looked for);
without one, the text is cut where the script begins and ends with TRUNCATION_MARKER."""

from __future__ import annotations

import asyncio
import bisect
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

CARD_SIZE = 1080
MARGIN = 96
BACKGROUND = (246, 243, 236)
INK = (31, 41, 51)
ACCENT = (214, 92, 66)
FONTS_DIR = Path(__file__).resolve().parent / "fonts"
# DejaVu covers Latin and Cyrillic; Pillow's own font is the fallback if the files are gone.
REGULAR_FONT = FONTS_DIR / "DejaVuSans.ttf"
BOLD_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
# Fonts with CJK glyphs (they cover Latin and Cyrillic too), first found wins: one placed in
# content/fonts, then the usual Debian packages (fonts-noto-cjk, fonts-wqy-microhei,
# fonts-droid-fallback).
FALLBACK_FONTS = (
    FONTS_DIR / "NotoSansCJK-Regular.ttc",
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
# Ends the text where a script the card's font cannot draw begins.
TRUNCATION_MARKER = "[…]"
ELLIPSIS = "…"
# A 1080 px card at the smallest size holds about 3,300 of the narrowest characters: what
# lies past this many is never laid out.
MAX_CARD_CHARACTERS = 4000
MAX_FONT = 72
MIN_FONT = 26
LINE_SPACING = 1.3


class TextFont(Protocol):
    """What wrapping needs of a font (Pillow's fonts, or a test's counting font)."""

    def getlength(self, text: str) -> float: ...


@lru_cache(maxsize=64)
def _font(size: int, bold: bool, fallback: Path | None = None) -> Font:
    from PIL import ImageFont

    path = fallback or (BOLD_FONT if bold else REGULAR_FONT)
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size=size)


# ---------- which characters a font can draw ----------


@lru_cache(maxsize=1)
def _fallback_font_path() -> Path | None:
    return next((path for path in FALLBACK_FONTS if path.is_file()), None)


class _Coverage:
    """Whether a font has a glyph for a character: a missing one draws as the font's
    `.notdef` box, the same for every character it lacks."""

    def __init__(self, font: Font) -> None:
        self._font = font
        self._known: dict[str, bool] = {}
        self._notdef = self._signature("\U0010fffd")  # a private-use character: never drawn

    def _signature(self, character: str) -> tuple[tuple[int, int], bytes]:
        from PIL import Image

        mask = self._font.getmask(character)
        size = (int(mask.size[0]), int(mask.size[1]))
        pixels = Image.Image()._new(mask).tobytes() if size[0] and size[1] else b""
        return size, pixels

    def draws(self, character: str) -> bool:
        known = self._known.get(character)
        if known is None:
            known = self._known[character] = self._signature(character) != self._notdef
        return known


@lru_cache(maxsize=4)
def _coverage(path: Path | None) -> _Coverage:
    return _Coverage(_font(40, False, path))


def _drawable(text: str, coverage: _Coverage) -> tuple[str, bool]:
    """`text` without what the font cannot draw: symbols it lacks (emoji) are left out; at the
    first letter or digit it lacks the text ends (True: it was cut there)."""
    kept: list[str] = []
    for character in text:
        if character.isspace() or coverage.draws(character):
            kept.append(character)
        elif unicodedata.category(character)[0] in "LN":
            return "".join(kept).rstrip(), True
    return "".join(kept), False


def _needs_fallback(text: str, coverage: _Coverage) -> bool:
    return any(
        not c.isspace() and unicodedata.category(c)[0] in "LN" and not coverage.draws(c)
        for c in text
    )


# ---------- wrapping ----------

# A break may come at spaces, and before or after any CJK character, but never before the
# closing punctuation that may not start a line (kinsoku).
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff"
_NO_LINE_START = "、。，．・：；！？ー」』）】〕〉》…"
_SEGMENT = re.compile(rf"\s+|[{_CJK}][{_NO_LINE_START}]*|[^\s{_CJK}]+[{_NO_LINE_START}]*")


class _Widths:
    """Measures with `font`, each word once and each character once."""

    def __init__(self, font: TextFont) -> None:
        self.font = font
        self._characters: dict[str, float] = {}

    def of(self, text: str, width: float) -> float:
        """The width of `text`, exact when it may fit in `width`; for a longer word only a
        lower bound, found without reading past the line (the word is cut anyway)."""
        if len(text) == 1:
            return self.character(text)
        estimate = 0.0
        for character in text:
            estimate += self.character(character)
            if estimate > width * 1.1:  # well past any kerning: it cannot fit
                return estimate
        return float(self.font.getlength(text))

    def character(self, character: str) -> float:
        width = self._characters.get(character)
        if width is None:
            width = self._characters[character] = float(self.font.getlength(character))
        return width


def _cut_word(word: str, widths: _Widths, width: float) -> Iterator[tuple[str, float]]:
    """Pieces of a word longer than a line, each as wide as fits, by its characters' widths."""
    start = 0
    used = 0.0
    for index, character in enumerate(word):
        advance = widths.character(character)
        if used + advance > width and index > start:
            yield word[start:index], used
            start, used = index, 0.0
        used += advance
    yield word[start:], used


def _paragraph_lines(paragraph: str, widths: _Widths, width: float) -> Iterator[str]:
    space = widths.character(" ")
    line: list[str] = []
    line_width = 0.0
    spaced = False
    for match in _SEGMENT.finditer(paragraph):
        segment = match.group()
        if segment.isspace():
            spaced = True
            continue
        gap = space if line and spaced else 0.0
        spaced = False
        segment_width = widths.of(segment, width)
        if line_width + gap + segment_width <= width:
            line.append(" " + segment if gap else segment)
            line_width += gap + segment_width
            continue
        if line:
            yield "".join(line)
        if segment_width <= width:
            line, line_width = [segment], segment_width
            continue
        pieces = _cut_word(segment, widths, width)
        piece, piece_width = next(pieces)
        for following in pieces:
            yield piece
            piece, piece_width = following
        line, line_width = [piece], piece_width
    yield "".join(line)


def _lines(text: str, font: TextFont, width: float) -> Iterator[str]:
    widths = _Widths(font)
    for paragraph in text.split("\n"):
        yield from _paragraph_lines(paragraph, widths, width)


def wrap(text: str, font: TextFont, width: float, max_lines: int | None = None) -> list[str]:
    """Lines no wider than `width`; paragraphs kept; a word longer than a line is cut.

    With `max_lines`, stops after max_lines + 1 lines (one more tells that the text goes on):
    the work is then bounded by what fits, not by the length of the text."""
    lines: list[str] = []
    for line in _lines(text, font, width):
        lines.append(line)
        if max_lines is not None and len(lines) > max_lines:
            return lines
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _end_with(line: str, marker: str, widths: _Widths, width: float) -> str:
    """`line` shortened, character by character from its end, until `marker` fits after it."""
    room = width - widths.of(marker, width)
    used = sum(widths.character(c) for c in line)
    end = len(line)
    while end and used > room:
        end -= 1
        used -= widths.character(line[end])
    return line[:end].rstrip(" .,;:") + marker


# ---------- layout ----------


@dataclass(frozen=True)
class _Layout:
    title_font: Font
    body_font: Font
    title_lines: list[str]
    body_lines: list[str]
    height: float
    complete: bool  # everything is on the card


def _line_height(font: Font) -> float:
    size = getattr(font, "size", 16)
    return float(size) * LINE_SPACING


def _layout(
    title: str, body: str, size: int, width: float, room: float, fallback: Path | None
) -> _Layout:
    """The lines at `size`, no more than the card holds; `complete` if nothing is left out."""
    title_font = _font(round(size * 1.2), True, fallback)
    body_font = _font(size, False, fallback)
    title_h, body_h = _line_height(title_font), _line_height(body_font)
    title_room = int(room // title_h)
    title_lines = wrap(title, title_font, width, title_room) if title else []
    complete = len(title_lines) <= title_room
    title_lines = title_lines[:title_room]
    body_lines: list[str] = []
    if body and complete:
        left = room - len(title_lines) * title_h - (body_h if title_lines else 0.0)
        body_room = max(0, int(left // body_h))
        if body_room:
            body_lines = wrap(body, body_font, width, body_room)
            complete = len(body_lines) <= body_room
            body_lines = body_lines[:body_room]
        else:
            complete = False
    elif body:
        complete = False
    height = len(title_lines) * title_h + len(body_lines) * body_h
    if title_lines and body_lines:
        height += body_h
    return _Layout(title_font, body_font, title_lines, body_lines, height, complete)


def _with_ellipsis(layout: _Layout, width: float) -> _Layout:
    """At the smallest size the text still does not fit: its last line ends with an ellipsis."""
    title_lines, body_lines = list(layout.title_lines), list(layout.body_lines)
    if body_lines:
        body_lines[-1] = _end_with(body_lines[-1], ELLIPSIS, _Widths(layout.body_font), width)
    elif title_lines:
        title_widths = _Widths(layout.title_font)
        title_lines[-1] = _end_with(title_lines[-1], ELLIPSIS, title_widths, width)
    return _Layout(
        layout.title_font, layout.body_font, title_lines, body_lines, layout.height, False
    )


def _card_text(title: str, body: str) -> tuple[str, str, Path | None]:
    """Title and body as the card can draw them, and the fallback font they need, if any."""
    title, body = title[:MAX_CARD_CHARACTERS], body[:MAX_CARD_CHARACTERS]
    fallback: Path | None = None
    if _needs_fallback(title + body, _coverage(None)):
        fallback = _fallback_font_path()
    coverage = _coverage(fallback)
    title, title_cut = _drawable(title, coverage)
    if title_cut:
        return (title + " " if title else "") + TRUNCATION_MARKER, "", fallback
    body, body_cut = _drawable(body, coverage)
    if body_cut:
        body = (body + " " if body else "") + TRUNCATION_MARKER
    return title, body, fallback


def layout_card(title: str | None, text: str, *, size: int = CARD_SIZE) -> _Layout:
    """The largest font size at which title and text fit, found by bisection (a few layouts,
    each bounded by the lines the card holds); at the smallest size, cut with an ellipsis."""
    title = (title or "").strip()
    body = text.strip()
    if not title and not body:
        raise ValueError("a card needs a title or a text")
    title, body, fallback = _card_text(title, body)
    scale = size / CARD_SIZE
    width = room = size - 2 * MARGIN * scale
    # Ascending, so that "fits" is False then True along the list.
    sizes = list(range(round(MIN_FONT * scale), round(MAX_FONT * scale) + 1, 2))
    layouts: dict[int, _Layout] = {}

    def too_large(index: int) -> bool:
        layout = _layout(title, body, sizes[index], width, room, fallback)
        layouts[index] = layout
        return not layout.complete

    # The first size too large to fit all of it; the one before it is the answer.
    first_too_large = bisect.bisect_left(range(len(sizes)), True, key=too_large)
    best = first_too_large - 1
    if best < 0:
        smallest = layouts.get(0) or _layout(title, body, sizes[0], width, room, fallback)
        return _with_ellipsis(smallest, width)
    return layouts.get(best) or _layout(title, body, sizes[best], width, room, fallback)


def render_card(title: str | None, text: str, *, size: int = CARD_SIZE) -> bytes:
    """A JPEG card with the title (bold) and the text, as large as fits."""
    layout = layout_card(title, text, size=size)
    from PIL import Image, ImageDraw

    scale = size / CARD_SIZE
    margin = MARGIN * scale
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        (margin, margin * 0.55, margin + 120 * scale, margin * 0.55 + 10 * scale), fill=ACCENT
    )
    y = (size - layout.height) / 2
    for line in layout.title_lines:
        draw.text((margin, y), line, font=layout.title_font, fill=INK)
        y += _line_height(layout.title_font)
    if layout.title_lines and layout.body_lines:
        y += _line_height(layout.body_font)
    for line in layout.body_lines:
        draw.text((margin, y), line, font=layout.body_font, fill=INK)
        y += _line_height(layout.body_font)

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def render_card_async(title: str | None, text: str, *, size: int = CARD_SIZE) -> bytes:
    return await asyncio.to_thread(render_card, title, text, size=size)
