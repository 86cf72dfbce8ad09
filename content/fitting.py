"""One place that knows each platform's text rules, used at preview time and again right
before publishing."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser

from content.media import album_problem, unsupported_kinds

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
    # A video, GIF or file the platform cannot publish (content/media.py).
    MEDIA_NOT_SUPPORTED = "media_not_supported"
    # Media Telegram will not send as one album (a file beside a photo, a GIF in an album).
    BAD_ALBUM = "bad_album"


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


def fit_for_platform(
    platform: str,
    text: str,
    *,
    title: str | None = None,
    pictures: int = 0,
    allow_thread: bool = False,
    hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT,
    card_available: bool = True,
    media_kinds: Sequence[str] = (),
) -> FitResult:
    """Check `text` (Telegram HTML for Telegram; plain elsewhere) against `platform`'s rules.

    `media_kinds`: the kind of each of the post's media (photo, video, animation, document)
    when known; `pictures` counts its photos. On Telegram every kind makes the text a
    caption (1024 characters after parsing)."""
    problems: list[Problem] = []
    if platform == "telegram":
        items = max(pictures, len(media_kinds))
        limit = TELEGRAM_CAPTION_LIMIT if items else TELEGRAM_TEXT_LIMIT
        length = telegram_visible_length(title, text)
        if length == 0 and not items:
            problems.append(Problem.EMPTY)
        if length > limit:
            problems.append(Problem.TOO_LONG)
        if items > 10:
            problems.append(Problem.TOO_MANY_PICTURES)
        elif album_problem(media_kinds) is not None:
            problems.append(Problem.BAD_ALBUM)
        return FitResult(platform, length, limit, tuple(problems))
    if unsupported_kinds(platform, media_kinds):
        problems.append(Problem.MEDIA_NOT_SUPPORTED)
    plain = plain_text(title, text)
    if platform == "x":
        length = x_weighted_length(plain)
        parts: tuple[str, ...] = ()
        if not plain and not pictures:
            problems.append(Problem.EMPTY)
        if length > X_LIMIT:
            if allow_thread:
                parts = tuple(split_x_thread(plain))
                if any(x_weighted_length(part) > X_LIMIT for part in parts):
                    problems.append(Problem.TOO_LONG)
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


_LINK_RE = re.compile(r'<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL | re.IGNORECASE)


def _link_as_text(match: re.Match[str]) -> str:
    """A Telegram link on a plain-text platform: its words and, when they are not the
    address itself, the address after them (a mention of a Telegram user keeps its words)."""
    url = html.unescape(match.group(1))
    label = match.group(2)
    shown = visible_text(label).strip()
    if not url.lower().startswith(("http://", "https://")) or shown == url:
        return label
    if not shown:
        return html.escape(url, quote=False)
    return f"{label} ({html.escape(url, quote=False)})"


def html_to_plain(html_text: str) -> str:
    """Telegram HTML as plain text for X and Instagram: no tags, no entities, links kept."""
    return visible_text(_LINK_RE.sub(_link_as_text, html_text))


def plain_text(title: str | None, html_text: str) -> str:
    body = html_to_plain(html_text).strip()
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


# ---------- Telegram HTML ----------

# The tags Telegram's HTML parse mode understands (the subset we let a model use), and the
# common HTML a model writes instead, mapped onto them.
TELEGRAM_TAGS = frozenset(
    {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler", "tg-emoji"}
)
_LANGUAGE_RE = re.compile(r"^language-[\w+#.-]{1,32}$")
_TAG_ALIASES = {"strong": "b", "em": "i", "ins": "u", "strike": "s", "del": "s"}
_BLOCK_BREAKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"})
_SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")


class _TelegramSanitizer(HTMLParser):
    """Rebuilds a text keeping only Telegram's tags, balanced, with everything else escaped.

    `max_visible` stops at that many visible characters (what Telegram counts) and closes the
    tags still open, so a cut never leaves broken markup."""

    def __init__(self, max_visible: int | None) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.visible = 0
        self.max_visible = max_visible
        self.full = False
        self.skipping = 0  # inside <script> or <style>: their text is no text

    def _room(self) -> int | None:
        if self.max_visible is None:
            return None
        return self.max_visible - self.visible

    def _text(self, data: str) -> None:
        if self.full or not data:
            return
        room = self._room()
        if room is not None and len(data) > room:
            cut = data[: max(0, room - 1)]
            if " " in cut[len(cut) // 2 :]:
                cut = cut[: cut.rfind(" ")]
            data = cut.rstrip() + "…"
            self.full = True
        self.out.append(html.escape(data, quote=False))
        self.visible += len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = _TAG_ALIASES.get(tag, tag)
        if tag in ("script", "style"):
            self.skipping += 1
            return
        if self.full:
            return
        if tag in _BLOCK_BREAKS:
            if tag in ("li",):
                self._text("\n• ")
            elif self.out and not "".join(self.out[-2:]).endswith("\n"):
                self._text("\n")
            return
        values = dict(attrs)
        if tag == "span" and values.get("class") == "tg-spoiler":
            tag = "tg-spoiler"
        if tag not in TELEGRAM_TAGS:
            if tag == "span":
                self.open.append("")  # a span we drop keeps its text
            return
        if tag == "tg-emoji":
            emoji_id = values.get("emoji-id") or ""
            if not emoji_id.isdigit():
                self.open.append("")  # an emoji we cannot show keeps its fallback text
                return
            self.out.append(f'<tg-emoji emoji-id="{emoji_id}">')
            self.open.append(tag)
            return
        language = values.get("class") or ""
        if tag == "code" and self.open[-1:] == ["pre"] and _LANGUAGE_RE.match(language):
            self.out.append(f'<code class="{html.escape(language, quote=True)}">')
            self.open.append(tag)
            return
        if tag == "blockquote" and "expandable" in values:
            self.out.append("<blockquote expandable>")
            self.open.append(tag)
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.lower().startswith(_SAFE_SCHEMES):
                self.open.append("")  # a link we drop keeps its text
                return
            self.out.append(f'<a href="{html.escape(href, quote=True)}">')
        else:
            self.out.append(f"<{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        tag = _TAG_ALIASES.get(tag, tag)
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
            return
        if tag in ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"):
            self._text("\n")
            return
        if tag == "span":
            tag = "tg-spoiler" if "tg-spoiler" in self.open else ""
        dropped = tag in ("a", "tg-emoji", "") and "" in self.open
        if tag not in TELEGRAM_TAGS and not dropped:
            return
        if tag not in self.open and not dropped:
            return
        # Close everything opened after it, so the result stays well nested.
        while self.open:
            current = self.open.pop()
            if current:
                self.out.append(f"</{current}>")
            if current == tag or (dropped and current == ""):
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._text(data)

    def result(self) -> str:
        self.close()
        while self.open:
            current = self.open.pop()
            if current:
                self.out.append(f"</{current}>")
        text = "".join(self.out)
        text = re.sub(r"[ \t]+\n", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def sanitize_telegram_html(text: str, max_visible: int | None = None) -> str:
    """Telegram-safe HTML: only b, i, u, s, a (http/https/tg/mailto), code, pre, blockquote,
    balanced; any other markup dropped (its text kept) and stray `<`, `&` escaped."""
    parser = _TelegramSanitizer(max_visible)
    parser.feed(text)
    return parser.result()


# ---------- X threads ----------

_SENTENCE_ENDS = frozenset(".!?…。！？")
# Closing punctuation never starts a line in Chinese or Japanese (kinsoku).
_NO_BREAK_BEFORE = frozenset("、。，．・：；！？ー」』）】〕〉》〙〗｝］…‥")
_THREAD_NUMBER = " ({index}/{count})"


def _is_cjk(character: str) -> bool:
    """A character of a script written without spaces: a line may break before or after it."""
    code = ord(character)
    return (
        0x2E80 <= code <= 0x9FFF  # CJK radicals, punctuation, kana, unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x3FFFF  # ideograph extensions
    )


@dataclass(frozen=True)
class _Atom:
    """What X weighs as one: a character, a whole URL (23) or a whole emoji (2)."""

    start: int
    end: int
    weight: int  # in twitter-text's scaled units (x100)


def _x_atoms(text: str) -> list[_Atom]:
    """The text cut into X's weighing units, with twitter-text's own rules, in one pass."""
    from twitter_text import extract_emojis_with_indices, extract_urls_with_indices
    from twitter_text.config import config
    from twitter_text.get_character_weight import get_character_weight

    options = config["defaults"]
    scale = int(options["scale"])
    wholes: dict[int, tuple[int, int]] = {}
    for emoji in extract_emojis_with_indices(text):
        start, end = emoji["indices"]
        wholes[start] = (end, int(options["default_weight"]))
    for url in extract_urls_with_indices(text):  # a URL wins over an emoji inside it
        start, end = url["indices"]
        wholes[start] = (end, int(options["transformed_url_length"]) * scale)
    atoms: list[_Atom] = []
    index = 0
    while index < len(text):
        if index in wholes:
            end, weight = wholes[index]
        else:
            end, weight = index + 1, int(get_character_weight(text[index], options))
        atoms.append(_Atom(index, end, weight))
        index = end
    return atoms


def _thread_cuts(text: str, atoms: list[_Atom], room: int) -> list[tuple[int, int]]:
    """Greedy (start, end) spans of `text`, each weighing at most `room` (scaled), cut at the
    last sentence end in the second half of a part, else the last space or CJK character,
    else (one word longer than a post) between two characters. Linear in the atoms."""
    spans: list[tuple[int, int]] = []
    position = 0
    while position < len(atoms):
        while position < len(atoms) and text[atoms[position].start].isspace():
            position += 1  # a post does not start with spaces
        if position == len(atoms):
            break
        weight = 0
        soft_break = sentence_break = -1  # atom index a part may end before
        end = position
        while end < len(atoms) and weight + atoms[end].weight <= room:
            weight += atoms[end].weight
            end += 1
            if end == len(atoms):
                break
            last, upcoming = text[atoms[end - 1].start], text[atoms[end].start]
            between_cjk = (_is_cjk(last) or _is_cjk(upcoming)) and upcoming not in _NO_BREAK_BEFORE
            if upcoming.isspace() or between_cjk:
                soft_break = end
                if (last in _SENTENCE_ENDS or upcoming == "\n") and weight * 2 >= room:
                    sentence_break = end
        if end < len(atoms):
            if sentence_break > position:
                end = sentence_break
            elif soft_break > position:
                end = soft_break
        end = max(end, position + 1)  # an atom heavier than a post still moves on
        spans.append((atoms[position].start, atoms[end - 1].end))
        position = end
    return spans


def split_x_thread(text: str, limit: int = X_LIMIT) -> list[str]:
    """Split a long text into numbered posts, each within X's weighted `limit` (twitter-text:
    CJK and emoji weigh 2, a URL 23), its number included; no word or URL is cut unless it is
    longer than a post, and nothing but the spaces between posts is dropped."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    if x_weighted_length(text) <= limit:
        return [text]
    atoms = _x_atoms(text)
    scale = 100
    digits = 1
    while True:
        # The number is ASCII, one unit a character; the widest one is "(n/n)" itself.
        number_weight = len(_THREAD_NUMBER.format(index="9" * digits, count="9" * digits))
        room = (limit - number_weight) * scale
        for _ in range(3):
            spans = _thread_cuts(text, atoms, room)
            parts = [text[start:end].rstrip() for start, end in spans]
            numbered = [
                part + _THREAD_NUMBER.format(index=index, count=len(parts))
                for index, part in enumerate(parts, 1)
            ]
            excess = max(x_weighted_length(post) for post in numbered) - limit
            if excess <= 0:
                break
            # Weighed in context a part may differ from the sum of its atoms: retry tighter.
            room -= excess * scale
        if len(str(len(parts))) <= digits:
            return numbered
        digits = len(str(len(parts)))


# ---------- X ----------


def truncate_x(text: str, limit: int = X_LIMIT) -> str:
    """The longest prefix (at a word boundary, with an ellipsis) within X's weighted limit."""
    if x_weighted_length(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if x_weighted_length(text[:middle].rstrip() + "…") <= limit:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    if " " in cut[low // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "…"


# ---------- Instagram ----------


def limit_hashtags(text: str, limit: int = INSTAGRAM_HASHTAG_LIMIT) -> str:
    """Keeps the first `limit` hashtags (Instagram rejects a caption with more)."""
    seen = 0

    def keep(match: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return match.group(0) if seen <= limit else ""

    trimmed = _HASHTAG_RE.sub(keep, text)
    return re.sub(r"[ \t]{2,}", " ", trimmed).strip()


def fit_generated(
    platform: str,
    text: str,
    *,
    allow_thread: bool = False,
    hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT,
) -> str:
    """Turns a model's answer into a text that passes `fit_for_platform` for `platform`:
    Telegram keeps its HTML subset; X and Instagram get plain text within their limits (an X
    thread keeps the whole text: `fit_for_platform(..., allow_thread=True)` splits it)."""
    if platform == "telegram":
        return sanitize_telegram_html(text, TELEGRAM_TEXT_LIMIT)
    plain = html_to_plain(sanitize_telegram_html(text)).strip()
    if platform == "x":
        return plain if allow_thread else truncate_x(plain)
    if platform == "instagram":
        plain = limit_hashtags(plain, hashtag_limit)
        if len(plain) > INSTAGRAM_CAPTION_LIMIT:
            plain = visible_text(truncate_visible(html.escape(plain), INSTAGRAM_CAPTION_LIMIT))
        return plain
    raise ValueError(f"unknown platform {platform!r}")
