"""Instagram text cards are laid out in linear time with a hard bound (issue 10: a 2,200-char
unbroken word cost 173 s). The work is counted, not timed: every call to measure a text and
the characters it measured."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from content import cards
from content.cards import (
    CARD_SIZE,
    MARGIN,
    TRUNCATION_MARKER,
    layout_card,
    render_card,
    wrap,
)

WORST_INPUTS = {
    "unbroken_word": "x" * 2200,
    "unbroken_cyrillic": "щ" * 2200,
    "cjk": "数据" * 1100,
    "latin_words": ("lorem ipsum dolor sit amet " * 90)[:2200],
    "cyrillic_words": ("Съешь ещё этих мягких булок " * 80)[:2200],
    "emoji": "😀🎉" * 1100,
    "one_long_line_per_word": " ".join(["y" * 300] * 7),
}


class CountingFont:
    """A monospaced font that counts its work: 10 px a character."""

    def __init__(self) -> None:
        self.calls = 0
        self.measured = 0  # characters

    def getlength(self, text: str) -> float:
        self.calls += 1
        self.measured += len(text)
        return 10.0 * len(text)


@pytest.mark.parametrize("name", sorted(WORST_INPUTS))
def test_wrapping_work_is_linear_in_the_text(name: str) -> None:
    text = WORST_INPUTS[name]
    work = []
    for copies in (1, 2, 4):
        font = CountingFont()
        wrap(text * copies, font, 300.0)
        work.append((font.calls, font.measured))
    for (calls, measured), copies in zip(work, (1, 2, 4), strict=True):
        assert calls <= 2 * len(text) * copies + 10
        assert measured <= 2 * len(text) * copies + 10
    # Doubling the text at most doubles the work (the old wrap grew it eightfold).
    assert work[2][1] <= 2.2 * work[1][1] <= 4.9 * work[0][1]


def test_wrapping_stops_at_the_lines_the_card_holds() -> None:
    font = CountingFont()
    lines = wrap("x" * 1_000_000, font, 300.0, max_lines=20)
    assert len(lines) == 21  # one more says the text goes on
    assert font.measured < 1000


def test_lines_are_cut_where_they_should_be() -> None:
    font = CountingFont()
    assert wrap("aaa bbb ccc", font, 70.0) == ["aaa bbb", "ccc"]
    assert wrap("x" * 25, font, 100.0) == ["x" * 10, "x" * 10, "x" * 5]
    assert wrap("first\n\nsecond", font, 100.0) == ["first", "", "second"]
    # CJK breaks between characters, never before closing punctuation.
    assert wrap("数据数据。数据", font, 40.0) == ["数据数", "据。数据"]


@pytest.mark.parametrize("name", sorted(WORST_INPUTS))
def test_rendering_measures_a_bounded_amount(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"count": 0, "characters": 0}
    measure = ImageFont.FreeTypeFont.getlength

    def counting(self: ImageFont.FreeTypeFont, text: str, *args: object, **kw: object) -> float:
        calls["count"] += 1
        calls["characters"] += len(text)
        return measure(self, text, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageFont.FreeTypeFont, "getlength", counting)
    render_card("A title", WORST_INPUTS[name])
    # A few sizes are tried (bisection), each laying out no more than the card holds.
    assert calls["characters"] <= 6 * 2200 + 2000, calls
    assert calls["count"] <= 6 * 2200 + 2000, calls


@pytest.mark.parametrize("name", sorted(WORST_INPUTS))
def test_every_line_fits_the_card(name: str) -> None:
    layout = layout_card("A title", WORST_INPUTS[name])
    width = CARD_SIZE - 2 * MARGIN
    for line in layout.body_lines:
        assert layout.body_font.getlength(line) <= width + 1, line
    assert layout.height <= width


def test_long_text_ends_with_an_ellipsis_at_the_smallest_size() -> None:
    layout = layout_card(None, "word " * 2000)
    assert not layout.complete
    assert layout.body_lines[-1].endswith("…")
    assert getattr(layout.body_font, "size", None) == cards.MIN_FONT


def test_short_text_is_large() -> None:
    layout = layout_card("Title", "Short text")
    assert layout.complete and getattr(layout.body_font, "size", None) == cards.MAX_FONT


def test_latin_and_cyrillic_are_drawn_whole() -> None:
    layout = layout_card("Заголовок", "Текст и text")
    assert layout.title_lines == ["Заголовок"] and layout.body_lines == ["Текст и text"]


def test_cjk_without_a_fallback_font_is_cut_with_a_clear_marker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cards, "FALLBACK_FONTS", ())
    cards._fallback_font_path.cache_clear()
    try:
        layout = layout_card("News", "Read this: 今日はとても良い天気ですね。")
        assert layout.body_lines == [f"Read this: {TRUNCATION_MARKER}"]
        only_cjk = layout_card("日本語", "テキスト")
        assert only_cjk.title_lines == [TRUNCATION_MARKER] and only_cjk.body_lines == []
    finally:
        cards._fallback_font_path.cache_clear()


def test_emoji_the_font_lacks_are_left_out_not_a_reason_to_cut() -> None:
    assert layout_card(None, "🎉 Big news today").body_lines == ["Big news today"]


def test_a_fallback_font_is_looked_for_when_the_script_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked: list[bool] = []
    monkeypatch.setattr(cards, "_fallback_font_path", lambda: looked.append(True))
    layout_card(None, "Latin only")
    assert looked == []
    layout_card(None, "中文")
    assert looked == [True]
