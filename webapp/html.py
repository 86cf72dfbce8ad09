"""A post's Telegram HTML as safe page HTML: only the tags Telegram itself renders
(https://core.telegram.org/bots/api#html-style), with only their harmless attributes;
everything else is text, escaped. The page inserts this and nothing else as HTML."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

# Telegram's tag → the tag written to the page.
_TAGS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "a",
    "span": "span",
    "tg-spoiler": "span",
    "tg-emoji": "",  # its text (the fallback emoji) is what a page can show
}
_SAFE_URL = re.compile(r"^(?:https?://|tg://|mailto:)[^\s\"'<>`]*$", re.IGNORECASE)
_LANGUAGE = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,32}$")
MAX_OUTPUT = 200_000


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        # What each open Telegram tag wrote ("" when it wrote nothing), to close it right.
        self.stack: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        written = _TAGS.get(tag)
        if written is None:
            return
        values = {name: value or "" for name, value in attrs}
        opening = ""
        if tag == "a":
            href = values.get("href", "").strip()
            if _SAFE_URL.match(href):
                opening = (
                    f'<a href="{escape(href, quote=True)}" target="_blank" '
                    'rel="noopener noreferrer">'
                )
            else:
                written = ""
        elif tag in ("span", "tg-spoiler"):
            if tag == "span" and values.get("class") != "tg-spoiler":
                written = ""
            else:
                opening = '<span class="tg-spoiler">'
        elif tag == "code":
            language = values.get("class", "")
            opening = (
                f'<code class="{escape(language)}">' if _LANGUAGE.match(language) else "<code>"
            )
        elif tag == "blockquote":
            opening = (
                '<blockquote class="expandable">' if "expandable" in values else "<blockquote>"
            )
        elif written:
            opening = f"<{written}>"
        self.out.append(opening)
        self.stack.append((tag, written))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open tag; an end tag nothing opened is ignored.
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                while len(self.stack) > index:
                    _name, written = self.stack.pop()
                    if written:
                        self.out.append(f"</{written}>")
                return

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data, quote=False))

    def close_all(self) -> str:
        self.close()
        while self.stack:
            _name, written = self.stack.pop()
            if written:
                self.out.append(f"</{written}>")
        return "".join(self.out)


def safe_post_html(telegram_html: str) -> str:
    """Page-safe HTML of a stored post (Telegram HTML); newlines stay newlines (the page
    shows the preview with `white-space: pre-wrap`, as Telegram does)."""
    parser = _Sanitizer()
    parser.feed(telegram_html[:MAX_OUTPUT])
    return parser.close_all()
