"""The fake's reading of Telegram's HTML style, against the Bot API's documented examples and
the exact errors tdlib's parse_html answers (byte offsets count UTF-8 bytes; entity offsets
count UTF-16 code units)."""

from __future__ import annotations

import pytest

from tests.fakes.telegram_html import (
    FormattedText,
    TelegramTextError,
    parse_html,
    reader_view,
    utf16_length,
    utf16_slice,
)


def read(source: str) -> FormattedText:
    return reader_view(source, "HTML")


def spans(formatted: FormattedText) -> list[tuple[str, int, int]]:
    return [(e.type, e.offset, e.length) for e in formatted.entities]


def refusal(source: str) -> str:
    with pytest.raises(TelegramTextError) as caught:
        read(source)
    return caught.value.description


# ---------- the documented tags ----------


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("<b>bold</b>", "bold"),
        ("<strong>bold</strong>", "bold"),
        ("<i>italic</i>", "italic"),
        ("<em>italic</em>", "italic"),
        ("<u>underline</u>", "underline"),
        ("<ins>underline</ins>", "underline"),
        ("<s>strikethrough</s>", "strikethrough"),
        ("<strike>strikethrough</strike>", "strikethrough"),
        ("<del>strikethrough</del>", "strikethrough"),
        ('<span class="tg-spoiler">spoiler</span>', "spoiler"),
        ("<tg-spoiler>spoiler</tg-spoiler>", "spoiler"),
        ("<code>inline fixed-width code</code>", "code"),
        ("<pre>pre-formatted fixed-width code block</pre>", "pre"),
        ("<blockquote>Block quotation</blockquote>", "blockquote"),
        ("<blockquote expandable>Hidden part</blockquote>", "expandable_blockquote"),
        ("<B>upper-case tags too</B>", "bold"),
    ],
)
def test_each_documented_tag_becomes_its_entity(source: str, kind: str) -> None:
    result = read(source)
    assert "<" not in result.text
    assert spans(result) == [(kind, 0, utf16_length(result.text))]


def test_documented_nesting_example() -> None:
    source = (
        "<b>bold <i>italic bold <s>italic bold strikethrough "
        '<span class="tg-spoiler">italic bold strikethrough spoiler</span></s> '
        "<u>underline italic bold</u></i> bold</b>"
    )
    result = read(source)
    assert result.text == (
        "bold italic bold italic bold strikethrough italic bold strikethrough spoiler "
        "underline italic bold bold"
    )
    covered: dict[str, set[int]] = {}
    for kind, offset, length in spans(result):
        covered.setdefault(kind, set()).update(range(offset, offset + length))
    # Telegram cuts nested bold/italic/… at each other's borders; what a reader sees is the
    # same characters formatted.
    assert covered["bold"] == set(range(0, 103))
    assert covered["italic"] == set(range(5, 98))
    assert covered["strikethrough"] == set(range(17, 76))
    assert covered["spoiler"] == set(range(43, 76))
    assert covered["underline"] == set(range(77, 98))


def test_nested_bold_is_cut_where_italic_begins_as_tdlib_stores_it() -> None:
    assert spans(read("<b>bold <i>both</i></b>")) == [
        ("bold", 0, 5),
        ("bold", 5, 4),
        ("italic", 5, 4),
    ]


def test_inline_url_gets_telegrams_normalized_link() -> None:
    result = read('<a href="http://www.example.com/">inline URL</a>')
    assert result.text == "inline URL"
    assert result.entities_json() == [
        {"type": "text_link", "offset": 0, "length": 10, "url": "http://www.example.com/"}
    ]
    bare = read('<a href="https://Example.org">x</a>').entities_json()
    assert bare[0]["url"] == "https://example.org/"


def test_link_without_href_links_its_own_text() -> None:
    result = read("<a>https://example.org/page</a>")
    assert result.entities_json()[0]["url"] == "https://example.org/page"


def test_unsafe_or_invalid_links_keep_the_text_without_a_link() -> None:
    for href in ("javascript:alert(1)", "localhost", ""):
        result = read(f'<a href="{href}">text</a>')
        assert (result.text, result.entities) == ("text", [])


def test_inline_mention_of_a_user() -> None:
    result = read('<a href="tg://user?id=123456789">inline mention of a user</a>')
    assert result.entities_json() == [
        {
            "type": "text_mention",
            "offset": 0,
            "length": 24,
            "user": {"id": 123456789, "is_bot": False, "first_name": ""},
        }
    ]


def test_custom_emoji() -> None:
    result = read('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')
    assert result.entities_json() == [
        {
            "type": "custom_emoji",
            "offset": 0,
            "length": 2,
            "custom_emoji_id": "5368324170671202286",
        }
    ]


def test_pre_with_language() -> None:
    result = read(
        '<pre><code class="language-python">pre-formatted fixed-width code block written in '
        "the Python programming language</code></pre>"
    )
    assert result.entities_json() == [
        {"type": "pre", "offset": 0, "length": 79, "language": "python"}
    ]


def test_pre_with_plain_code_inside_is_one_pre_and_code_loses_a_language_alone() -> None:
    assert spans(read("<pre><code>x = 1</code></pre>")) == [("pre", 0, 5)]
    assert read('<code class="language-python">x</code>').entities_json() == [
        {"type": "code", "offset": 0, "length": 1}
    ]


def test_code_holds_no_formatting_and_splits_the_bold_around_it() -> None:
    assert spans(read("<code><b>x</b></code>")) == [("code", 0, 1)]
    result = read("<b>a <code>c</code> b</b>")
    assert result.text == "a c b"
    assert spans(result) == [("bold", 0, 2), ("code", 2, 1), ("bold", 3, 2)]


def test_blockquotes_keep_their_lines() -> None:
    result = read(
        "<blockquote>Block quotation started\nBlock quotation continued\n"
        "The last line of the block quotation</blockquote>"
    )
    assert result.text.count("\n") == 2
    assert spans(result) == [("blockquote", 0, utf16_length(result.text))]


def test_adjacent_same_formatting_is_merged() -> None:
    assert spans(read("<b>a</b><b>b</b>")) == [("bold", 0, 2)]


# ---------- entities (character references) ----------


def test_the_four_named_entities_and_numeric_ones_are_decoded() -> None:
    result = read("&lt;b&gt; &amp; &quot;q&quot; &#8212; &#x41; &#x1F600;")
    assert result.text == '<b> & "q" — A 😀'


def test_other_named_entities_stay_as_typed() -> None:
    assert read("a&nbsp;b &copy; &LT; &apos;").text == "a&nbsp;b &copy; &LT; &apos;"


def test_an_entity_needs_no_semicolon() -> None:
    assert read("fish &amp chips &lt3").text == "fish & chips <3"


def test_a_lone_surrogate_is_refused() -> None:
    assert refusal("&#xD83D;") == (
        "Bad Request: can't parse entities: Text contains invalid Unicode characters after "
        "decoding HTML entities, check for unmatched surrogate code units"
    )


def test_escaped_user_text_reads_back_as_typed() -> None:
    typed = "if a < b && c > d: print(\"ok\") 'x' <3"
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert read(escaped).text == typed


# ---------- errors, word for word ----------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<p>text</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("I <3 you", 'Unsupported start tag "3" at byte offset 2'),
        ("I love you <3", "Unclosed start tag at byte offset 11"),
        ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<span class="x">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b =x>y</b>", 'Empty attribute name in the tag "b" at byte offset 0'),
        ("<a href", 'Unclosed start tag "a" at byte offset 0'),
        ("<a href=", 'Unclosed start tag "a" at byte offset 0'),
        ('<a href="https://x.org', "Unclosed start tag at byte offset 0"),
        ("<a href=x!>y</a>", "Unexpected end of name token at byte offset 8"),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
    ],
)
def test_refusals_have_telegrams_wording(source: str, reason: str) -> None:
    assert refusal(source) == f"Bad Request: can't parse entities: {reason}"


def test_byte_offsets_count_utf8_bytes_of_cyrillic_and_emoji() -> None:
    # "Привет " is 13 bytes; "😀 " is 5.
    assert refusal("Привет <p>") == (
        'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 13'
    )
    assert refusal("😀 <p>") == (
        'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 5'
    )
    assert refusal("日本 <b>x</i>") == (
        "Bad Request: can't parse entities: Unmatched end tag at byte offset 11, "
        'expected "</b>", found "</i>"'
    )


def test_empty_text_is_refused_and_an_empty_caption_is_not() -> None:
    assert refusal("<b></b> \n ") == "Bad Request: message text is empty"
    assert reader_view("<b> </b>", "HTML", allow_empty=True).text == ""


# ---------- UTF-16 offsets ----------


def test_offsets_count_utf16_units_after_emoji() -> None:
    result = read("😀<b>Привет</b> 👨‍👩‍👧 <i>мир</i>")
    assert spans(result) == [("bold", 2, 6), ("italic", 18, 3)]
    assert utf16_slice(result.text, 2, 6) == "Привет"
    assert utf16_slice(result.text, 18, 3) == "мир"


def test_entity_offsets_around_astral_characters_decoded_from_references() -> None:
    result = read("&#x1F600;<b>x</b>")
    assert result.text == "😀x"
    assert spans(result) == [("bold", 2, 1)]


def test_cjk_is_one_unit_each() -> None:
    result = read("日本語<u>テキスト</u>")
    assert spans(result) == [("underline", 3, 4)]


# ---------- what Telegram does to every text ----------


def test_leading_and_trailing_spaces_and_newlines_are_trimmed() -> None:
    result = read("\n\n  <b>Title</b>\n\nbody  \n\n")
    assert result.text == "Title\n\nbody"
    assert spans(result) == [("bold", 0, 5)]


def test_leading_spaces_inside_an_entity_stay_and_trailing_ones_are_cut() -> None:
    result = read("  <b>  x  </b>  \n")
    assert result.text == "  x"
    assert spans(result) == [("bold", 0, 3)]


def test_tabs_become_spaces_and_carriage_returns_go() -> None:
    assert read("a\tb\r\nc").text == "a b\nc"


def test_formatting_on_trimmed_whitespace_disappears() -> None:
    result = read("text<b>  </b>")
    assert (result.text, result.entities) == ("text", [])


def test_plain_text_without_parse_mode_is_kept_with_its_entities() -> None:
    sent = [{"type": "bold", "offset": 0, "length": 2}]
    result = reader_view("<b> a", None, sent)
    assert result.text == "<b> a"
    assert result.entities_json() == sent


def test_at_most_100_entities_are_kept() -> None:
    result = read(" ".join(f"<b>{n}</b>" for n in range(150)))
    assert len(result.entities) == 100
    assert result.entities[-1].offset < utf16_length(result.text)


def test_custom_emoji_do_not_count_toward_the_100() -> None:
    emoji = '<tg-emoji emoji-id="1">👍</tg-emoji>'
    source = " ".join([*(f"<b>{n}</b>" for n in range(100)), *([emoji] * 20)])
    kinds = [e.type for e in read(source).entities]
    assert kinds.count("bold") == 100 and kinds.count("custom_emoji") == 20


def test_parse_html_alone_keeps_whitespace() -> None:
    assert parse_html("  <b>x</b>  ").text == "  x  "
