"""Image cards for platforms that accept no text-only posts (Instagram): the post's title and
text, word-wrapped on a clean background, 1080×1080, as large as fits.

Pillow is CPU-bound: call `render_card_async` from the event loop."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CARD_SIZE = 1080
MARGIN = 96
BACKGROUND = (246, 243, 236)
INK = (31, 41, 51)
ACCENT = (214, 92, 66)
FONTS_DIR = Path(__file__).resolve().parent / "fonts"
# DejaVu covers Latin and Cyrillic; Pillow's own font is the fallback if the files are gone.
REGULAR_FONT = FONTS_DIR / "DejaVuSans.ttf"
BOLD_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
MAX_FONT = 72
MIN_FONT = 26
LINE_SPACING = 1.3

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def _font(size: int, bold: bool) -> Font:
    path = BOLD_FONT if bold else REGULAR_FONT
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size=size)


def wrap(text: str, font: Font, width: float) -> list[str]:
    """Lines no wider than `width`; paragraphs kept; a word longer than a line is cut."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        current = ""
        for word in words:
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while font.getlength(word) > width:
                cut = len(word)
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    while lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass(frozen=True)
class _Layout:
    title_font: Font
    body_font: Font
    title_lines: list[str]
    body_lines: list[str]
    height: float


def _line_height(font: Font) -> float:
    size = getattr(font, "size", 16)
    return float(size) * LINE_SPACING


def _layout(title: str, body: str, size: int, width: float) -> _Layout:
    title_font = _font(round(size * 1.2), True)
    body_font = _font(size, False)
    title_lines = wrap(title, title_font, width) if title else []
    body_lines = wrap(body, body_font, width) if body else []
    height = len(title_lines) * _line_height(title_font) + len(body_lines) * _line_height(
        body_font
    )
    if title_lines and body_lines:
        height += _line_height(body_font)
    return _Layout(title_font, body_font, title_lines, body_lines, height)


def _truncate(layout: _Layout, room: float) -> _Layout:
    """At the smallest size the text still does not fit: end it with an ellipsis."""
    body_lines = list(layout.body_lines)
    title_lines = list(layout.title_lines)
    title_h = _line_height(layout.title_font)
    body_h = _line_height(layout.body_font)

    def height() -> float:
        gap = body_h if title_lines and body_lines else 0.0
        return len(title_lines) * title_h + len(body_lines) * body_h + gap

    while body_lines and height() > room:
        body_lines.pop()
    while title_lines and height() > room:
        title_lines.pop()
    if body_lines and len(body_lines) < len(layout.body_lines):
        body_lines[-1] = body_lines[-1].rstrip(" .,;:") + "…"
    elif title_lines and len(title_lines) < len(layout.title_lines):
        title_lines[-1] = title_lines[-1].rstrip(" .,;:") + "…"
    return _Layout(layout.title_font, layout.body_font, title_lines, body_lines, height())


def render_card(title: str | None, text: str, *, size: int = CARD_SIZE) -> bytes:
    """A JPEG card with the title (bold) and the text, as large as fits."""
    title = (title or "").strip()
    body = text.strip()
    if not title and not body:
        raise ValueError("a card needs a title or a text")
    scale = size / CARD_SIZE
    margin = MARGIN * scale
    width = size - 2 * margin
    room = size - 2 * margin
    layout = None
    for font_size in range(round(MAX_FONT * scale), round(MIN_FONT * scale) - 1, -2):
        layout = _layout(title, body, font_size, width)
        if layout.height <= room:
            break
    assert layout is not None
    if layout.height > room:
        layout = _truncate(layout, room)

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
