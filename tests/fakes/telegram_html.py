"""What Telegram makes of a text: its "HTML style" parse mode, and the clean-up every text gets.

A port of tdlib (td/telegram/MessageEntity.cpp), which the Bot API server runs for
`parse_mode=HTML`:
- `parse_html` walks the UTF-8 bytes exactly as tdlib's `parse_html` does, so that its errors
  carry Telegram's wording and byte offsets;
- `fix_formatted_text` is what every text then goes through (`fix_formatted_text`): control
  characters become spaces, `\\r` and a few invisible characters go, leading and trailing spaces
  and newlines are trimmed, entities are re-nested and split the way Telegram stores them;
- `limit_entities` keeps what the server keeps: at most 100 entities (custom emoji aside).

Offsets and lengths are in UTF-16 code units, as in the Bot API. Not ported: the entities
Telegram finds by itself in plain text (url, mention, hashtag, email…) and link validation
beyond "http(s) with a dotted host, or tg://"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_ENTITIES = 100  # the server keeps no more (custom emoji are not counted)
_INTEGER = re.compile(r"-?[0-9]+")

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)

# tdlib's MessageEntity::get_type_priority: the tie-break when two entities cover the same range.
_PRIORITY = {
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,  # a pre with a language (tdlib's PreCode) has 10, see `_priority`
    "text_link": 49,
    "text_mention": 49,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "spoiler": 94,
    "custom_emoji": 99,
    "expandable_blockquote": 0,
}
_SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")
_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
_PRE = frozenset({"pre", "code"})
_CONTINUOUS = frozenset({"text_link", "text_mention", "custom_emoji"})


class TelegramTextError(ValueError):
    """A text Telegram refuses; `description` is the Bot API's answer, word for word."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class HtmlParseError(TelegramTextError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Bad Request: can't parse entities: {reason}")
        self.reason = reason


@dataclass
class Entity:
    type: str
    offset: int  # UTF-16 code units
    length: int
    url: str = ""
    language: str = ""
    custom_emoji_id: str = ""
    user_id: int = 0

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_bot_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.type == "text_link":
            data["url"] = self.url
        elif self.type == "pre" and self.language:
            data["language"] = self.language
        elif self.type == "custom_emoji":
            data["custom_emoji_id"] = self.custom_emoji_id
        elif self.type == "text_mention":
            data["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        return data

    @classmethod
    def from_bot_api(cls, data: dict[str, Any]) -> Entity:
        user = data.get("user") or {}
        return cls(
            type=str(data["type"]),
            offset=int(data["offset"]),
            length=int(data["length"]),
            url=str(data.get("url") or ""),
            language=str(data.get("language") or ""),
            custom_emoji_id=str(data.get("custom_emoji_id") or ""),
            user_id=int(user.get("id") or 0),
        )


@dataclass
class FormattedText:
    """The text a reader sees and its formatting."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    def entities_json(self) -> list[dict[str, Any]]:
        return [entity.to_bot_api() for entity in self.entities]


# ---------- helpers ----------


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers (its offsets are UTF-16 code units)."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le")


def _priority(entity: Entity) -> int:
    if entity.type == "pre" and entity.language:
        return 10
    return _PRIORITY.get(entity.type, 50)


def _sort_key(entity: Entity) -> tuple[int, int, int]:
    return (entity.offset, -entity.length, _priority(entity))


def sort_entities(entities: list[Entity]) -> None:
    entities.sort(key=_sort_key)


# ---------- parse_html ----------

_SPACES = frozenset(b" \t\r\n\0\v")  # tdlib's is_space, which counts the terminating NUL
_PADDING = b"\0" * 16  # tdlib reads a C string: past the end there is a NUL


def _is_alpha(byte: int) -> bool:
    return ord("a") <= (byte | 0x20) <= ord("z")


def _is_digit(byte: int) -> bool:
    return ord("0") <= byte <= ord("9")


def _is_hex_digit(byte: int) -> bool:
    return _is_digit(byte) or ord("a") <= (byte | 0x20) <= ord("f")


def _ascii_lower(raw: bytes) -> str:
    # tdlib's to_lower changes A-Z only; anything else is kept byte for byte.
    return raw.lower().decode("utf-8", "surrogateescape")


def _decode_html_entity(text: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after it) of the reference at `pos` (an `&`), or (0, pos)."""
    end = pos + 1
    code = 0
    if text[pos + 1] == ord("#"):
        end += 1
        if text[pos + 2] == ord("x"):
            end += 1
            while _is_hex_digit(text[end]):
                code = code * 16 + int(chr(text[end]), 16)
                end += 1
        else:
            while _is_digit(text[end]):
                code = code * 10 + text[end] - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(text[end]):
            end += 1
        name = text[pos + 1 : end]
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}.get(name)
        if named is None:
            return 0, pos  # any other named entity stays as it was typed
        code = ord(named)
    if text[end] == ord(";"):
        end += 1
    return code, end


def _encode_code_point(code: int) -> bytes:
    return chr(code).encode("utf-8", "surrogatepass")


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    byte_offset: int  # in the output


def parse_html(source: str) -> FormattedText:
    """tdlib's `parse_html`: the text without its markup and the entities of the markup.

    Raises `HtmlParseError` with Telegram's own message (byte offsets count UTF-8 bytes)."""
    data = source.encode("utf-8", "surrogatepass")
    size = len(data)
    text = data + _PADDING
    out = bytearray()
    entities: list[Entity] = []
    open_tags: list[_OpenTag] = []
    utf16 = 0
    has_surrogate = False
    i = 0
    while i < size:
        byte = text[i]
        if byte == ord("&"):
            code, after = _decode_html_entity(text, i)
            if code:
                utf16 += 1 + (code > 0xFFFF)
                has_surrogate = has_surrogate or 0xD800 <= code <= 0xDFFF
                out += _encode_code_point(code)
                i = after
                continue
        if byte != ord("<"):
            if byte & 0xC0 != 0x80:  # the first byte of a character
                utf16 += 1 + (byte >= 0xF0)  # four bytes: a surrogate pair in UTF-16
            out.append(byte)
            i += 1
            continue
        begin = i
        i += 1
        if text[i] != ord("/"):
            i = _start_tag(text, begin, i, utf16, len(out), open_tags)
        else:
            i = _end_tag(text, begin, i, utf16, bytes(out), open_tags, entities)
        i += 1  # past the ">"
    if open_tags:
        raise HtmlParseError(
            f'Can\'t find end tag corresponding to start tag "{open_tags[-1].name}"'
        )
    for entity in entities:
        if entity.type == "code":
            entity.language = ""
    sort_entities(entities)
    if has_surrogate:
        try:
            plain = bytes(out).decode("utf-8")
        except UnicodeDecodeError:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
    else:
        plain = bytes(out).decode("utf-8")
    return FormattedText(plain, entities)


def _start_tag(
    text: bytes, begin: int, i: int, utf16: int, out_size: int, open_tags: list[_OpenTag]
) -> int:
    while text[i] not in _SPACES and text[i] != ord(">"):
        i += 1
    if text[i] == 0:
        raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
    tag = _ascii_lower(text[begin + 1 : i])
    if tag not in _SUPPORTED_TAGS:
        raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    while text[i] != ord(">"):
        while text[i] != 0 and text[i] in _SPACES:
            i += 1
        if text[i] == ord(">"):
            break
        name_begin = i
        while text[i] not in _SPACES and text[i] not in b"=>/\"'":
            i += 1
        name = text[name_begin:i]
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while text[i] != 0 and text[i] in _SPACES:
            i += 1
        if text[i] != ord("="):
            if text[i] == 0:
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and name == b"expandable":
                argument = "1"
            continue
        i += 1
        while text[i] != 0 and text[i] in _SPACES:
            i += 1
        if text[i] == 0:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if text[i] not in b"'\"":
            # A name token: letters, digits, periods or hyphens, not case sensitive.
            token_begin = i
            while _is_alpha(text[i]) or _is_digit(text[i]) or text[i] in b".-":
                i += 1
            value = _ascii_lower(text[token_begin:i])
            if text[i] not in _SPACES and text[i] != ord(">"):
                raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
        else:
            quote = text[i]
            i += 1
            raw = bytearray()
            while text[i] != quote and text[i] != 0:
                if text[i] == ord("&"):
                    code, after = _decode_html_entity(text, i)
                    if code:
                        raw += _encode_code_point(code)
                        i = after
                        continue
                raw.append(text[i])
                i += 1
            if text[i] == quote:
                i += 1
            value = bytes(raw).decode("utf-8", "surrogatepass")
        if text[i] == 0:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        if tag == "a" and name == b"href":
            argument = value
        elif tag == "code" and name == b"class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == b"class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == b"emoji-id":
            argument = value
        elif tag == "blockquote" and name == b"expandable":
            argument = "1"
    if tag == "span" and argument != "spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    open_tags.append(_OpenTag(tag, argument, utf16, out_size))
    return i


def _end_tag(
    text: bytes,
    begin: int,
    i: int,
    utf16: int,
    out: bytes,
    open_tags: list[_OpenTag],
    entities: list[Entity],
) -> int:
    if not open_tags:
        raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
    while text[i] not in _SPACES and text[i] != ord(">"):
        i += 1
    end_name = _ascii_lower(text[begin + 2 : i])
    while text[i] in _SPACES and text[i] != 0:
        i += 1
    if text[i] != ord(">"):
        raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
    opened = open_tags.pop()
    tag = opened.name
    if end_name and end_name != tag:
        raise HtmlParseError(
            f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{end_name}>"'
        )
    if utf16 > opened.utf16_offset:
        entity = _entity_for(tag, opened, utf16 - opened.utf16_offset, out, entities)
        if entity is not None:
            entities.append(entity)
    return i


def _entity_for(
    tag: str, opened: _OpenTag, length: int, out: bytes, entities: list[Entity]
) -> Entity | None:
    offset = opened.utf16_offset
    simple = {
        "i": "italic",
        "em": "italic",
        "b": "bold",
        "strong": "bold",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "u": "underline",
        "ins": "underline",
        "tg-spoiler": "spoiler",
        "span": "spoiler",  # a span is only accepted with class="tg-spoiler"
    }
    if tag in simple:
        return Entity(simple[tag], offset, length)
    if tag == "tg-emoji":
        emoji_id = opened.argument
        # tdlib's to_integer_safe<int64>: the digits must read back exactly, and not as 0.
        valid = _INTEGER.fullmatch(emoji_id) is not None and str(int(emoji_id)) == emoji_id
        if not valid or int(emoji_id) == 0 or not -(2**63) <= int(emoji_id) < 2**63:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        return Entity("custom_emoji", offset, length, custom_emoji_id=emoji_id)
    if tag == "a":
        url = opened.argument or out[opened.byte_offset :].decode("utf-8", "surrogatepass")
        user_id = link_user_id(url)
        if user_id:
            return Entity("text_mention", offset, length, user_id=user_id)
        checked = checked_link(url)
        return Entity("text_link", offset, length, url=checked) if checked else None
    last = entities[-1] if entities else None
    same_range = last is not None and last.offset == offset and last.length == length
    if tag == "pre":
        if last is not None and same_range and last.type == "code" and last.language:
            last.type = "pre"  # <pre><code class="language-x">…</code></pre>
            return None
        return Entity("pre", offset, length)
    if tag == "code":
        if last is not None and same_range and last.type == "pre" and opened.argument:
            last.language = opened.argument  # <code class="language-x"><pre>…</pre></code>
            return None
        return Entity("code", offset, length, language=opened.argument)
    if tag == "blockquote":
        kind = "expandable_blockquote" if opened.argument else "blockquote"
        return Entity(kind, offset, length)
    raise AssertionError(tag)


def link_user_id(url: str) -> int:
    """tdlib's LinkManager::get_link_user_id: the user of a tg://user?id=… link, or 0."""
    lowered = url.lower()
    if not lowered.startswith("tg:"):
        return 0
    rest = lowered[3:]
    rest = rest.removeprefix("//")
    if not rest.startswith("user") or (len(rest) > 4 and rest[4] not in "/?#"):
        return 0
    rest = rest[4:].removeprefix("/")
    if not rest.startswith("?"):
        return 0
    query = rest[1:].split("#", 1)[0]
    for parameter in query.split("&"):
        key, _, value = parameter.partition("=")
        if key == "id":
            if not value.isascii() or not value.isdigit() or str(int(value)) != value:
                return 0
            return int(value) if 0 < int(value) < 2**40 else 0
    return 0


def checked_link(url: str) -> str:
    """The link Telegram keeps for a text link, or "" when it drops the link (not the text).

    An approximation of LinkManager::get_checked_link: tg:// links are kept; web links need
    http(s) (assumed when missing) and a dotted host; the host is lower-cased and an empty
    path becomes "/", as Telegram shows them."""
    url = url.strip()
    if not url:
        return ""
    if url.lower().startswith("tg:"):
        rest = url[3:].removeprefix("//")
        return f"tg://{rest}" if rest else ""
    if "://" not in url:
        url = f"http://{url}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or "." not in host or any(c in host for c in " <>"):
        return ""
    netloc = host
    if parts.username:
        credentials = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{credentials}@{host}"
    if port is not None:
        netloc = f"{netloc}:{port}"
    tail = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    tail += f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}://{netloc}{tail}"


# ---------- fix_formatted_text ----------


def _are_entities_valid(entities: list[Entity]) -> bool:
    """tdlib's fast path: nested as Telegram stores them already, nothing to fix."""
    end_of_last: dict[str, int] = {}
    stack: list[Entity] = []
    for entity in entities:
        while stack and entity.offset >= stack[-1].end:
            stack.pop()
        if stack:
            types = {e.type for e in stack}
            if entity.end > stack[-1].end or entity.type in types:
                return False
            if stack[-1].type in _PRE:
                return False  # pre and code contain nothing
            if entity.type in _PRE and types - _BLOCKQUOTES:
                return False  # pre and code are part of nothing but a blockquote
            nested_in_continuous = bool(types & _CONTINUOUS)
            if (
                entity.type in _CONTINUOUS or entity.type in _BLOCKQUOTES
            ) and nested_in_continuous:
                return False
            if entity.type in _BLOCKQUOTES and types & _BLOCKQUOTES:
                return False
            if types & set(_SPLITTABLE):
                return False  # a splittable parent may need splitting
        if entity.type in _SPLITTABLE:
            if end_of_last.get(entity.type, -1) >= entity.offset:
                return False  # touching or overlapping: to be merged
            end_of_last[entity.type] = entity.end
        stack.append(entity)
    return True


def _remove_intersecting(entities: list[Entity]) -> list[Entity]:
    """Keeps an entity only when it starts after every kept one ends (nested ones go too)."""
    kept: list[Entity] = []
    last_end = 0
    for entity in entities:
        if entity.offset >= last_end:
            last_end = entity.end
            kept.append(entity)
    return kept


def _remove_intersecting_blockquote(
    entities: list[Entity], blockquotes: list[Entity]
) -> list[Entity]:
    kept: list[Entity] = []
    index = 0
    for entity in entities:
        while index < len(blockquotes) and blockquotes[index].end <= entity.offset:
            index += 1
        if index < len(blockquotes):
            quote = blockquotes[index]
            if quote.end < entity.end or entity.offset < quote.offset < entity.end:
                continue
        kept.append(entity)
    return kept


def _split_entities(splittable: list[Entity], others: list[Entity]) -> list[Entity]:
    """tdlib's split_entities: bold, italic… merged where they touch, cut at the borders of
    the other entities, and removed inside pre and code."""
    begin = dict.fromkeys(_SPLITTABLE, 0)
    end = dict.fromkeys(_SPLITTABLE, 0)
    result: list[Entity] = []
    position = 0

    def flush(offset: int) -> None:
        for kind in _SPLITTABLE:
            if end[kind] != 0 and begin[kind] < offset:
                if end[kind] <= offset:
                    result.append(Entity(kind, begin[kind], end[kind] - begin[kind]))
                    begin[kind] = end[kind] = 0
                else:
                    result.append(Entity(kind, begin[kind], offset - begin[kind]))
                    begin[kind] = offset

    def add_until(end_offset: int) -> None:
        nonlocal position
        while position < len(splittable) and splittable[position].offset < end_offset:
            entity = splittable[position]
            kind = entity.type
            if entity.offset <= end[kind] and end[kind] != 0:
                end[kind] = max(end[kind], entity.end)
            else:
                flush(entity.offset)
                begin[kind] = entity.offset
                end[kind] = entity.end
            position += 1
        flush(end_offset)

    stack: list[Entity] = []

    def add_offset(offset: int) -> None:
        while stack and offset >= stack[-1].end:
            before = len(result)
            add_until(stack[-1].end)
            if stack[-1].type in _PRE:
                del result[before:]
            stack.pop()
        add_until(offset)

    for other in others:
        add_offset(other.offset)
        stack.append(other)
    add_offset(2**31 - 1)
    sort_entities(result)
    return result


def fix_entities(entities: list[Entity]) -> list[Entity]:
    entities = sorted(entities, key=_sort_key)
    if _are_entities_valid(entities):
        return entities
    continuous = [e for e in entities if e.type not in _SPLITTABLE and e.type not in _BLOCKQUOTES]
    blockquotes = [e for e in entities if e.type in _BLOCKQUOTES]
    splittable = [e for e in entities if e.type in _SPLITTABLE]
    continuous = _remove_intersecting(continuous)
    if blockquotes:
        blockquotes = _remove_intersecting(blockquotes)
        continuous = _remove_intersecting_blockquote(continuous, blockquotes)
        continuous = sorted(continuous + blockquotes, key=_sort_key)
    if not splittable:
        return continuous
    split = _split_entities(splittable, continuous)
    return sorted(continuous + split, key=_sort_key)


def _cleaned_character(character: str) -> str:
    """clean_input_string for one character: what stays of it."""
    code = ord(character)
    if code == 0x0D:
        return ""
    if code <= 0x20 and code != 0x0A:
        return " "  # control characters (tab included) become spaces
    if 0x2028 <= code <= 0x202E or code in (0x0333, 0x033F, 0x030A):
        return ""  # line/paragraph separators, bidi overrides, "vertical line" combiners
    return character


def _replace_offending_characters(text: str) -> str:
    # A run of left-to-right / right-to-left marks keeps its last one; the others become
    # zero-width non-joiners.
    marks = "\u200e\u200f"
    chars = list(text)
    for index in range(len(chars) - 1):
        if chars[index] in marks and chars[index + 1] in marks:
            chars[index] = "\u200c"
    return "".join(chars)


def _clean(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    kept: list[str] = []
    new_offset_of = [0] * (utf16_length(text) + 1)
    old_offset = new_offset = 0
    for character in text:
        width = 2 if ord(character) > 0xFFFF else 1
        for unit in range(width):
            new_offset_of[old_offset + unit] = new_offset
        cleaned = _cleaned_character(character)
        kept.append(cleaned)
        old_offset += width
        new_offset += utf16_length(cleaned)
    new_offset_of[old_offset] = new_offset
    moved = []
    for entity in entities:
        start, stop = new_offset_of[entity.offset], new_offset_of[entity.end]
        moved.append(_replace(entity, start, stop - start))
    return _replace_offending_characters("".join(kept)), moved


def _replace(entity: Entity, offset: int, length: int) -> Entity:
    return Entity(
        entity.type,
        offset,
        length,
        entity.url,
        entity.language,
        entity.custom_emoji_id,
        entity.user_id,
    )


def fix_formatted_text(formatted: FormattedText, *, allow_empty: bool) -> FormattedText:
    """tdlib's fix_formatted_text: the text and entities as Telegram stores and shows them.

    Raises TelegramTextError("Bad Request: message text is empty") for a text that is only
    spaces and newlines, unless `allow_empty` (a caption may be empty)."""
    entities = [e for e in formatted.entities if e.length > 0]
    if entities:
        entities = fix_entities(entities)
    text, entities = _clean(formatted.text, entities)
    entities = [e for e in entities if e.length > 0]
    last_visible = len(text.rstrip(" \n"))  # characters
    if last_visible == 0:
        if allow_empty:
            return FormattedText("", [])
        raise TelegramTextError("Bad Request: message text is empty")
    entities = fix_entities(entities)
    # Trim the end: entities past it go, entities across it are cut.
    text = text[:last_visible]
    text_end = utf16_length(text)
    trimmed: list[Entity] = []
    for entity in entities:
        if entity.offset >= text_end:
            continue
        trimmed.append(_replace(entity, entity.offset, min(entity.end, text_end) - entity.offset))
    sort_entities(trimmed)
    # Trim the start, but never into an entity: leading spaces inside one are kept.
    first_entity = trimmed[0].offset if trimmed else len(text)
    lead = 0
    while lead < first_entity and text[lead] in " \n":
        lead += 1
    if lead:
        text = text[lead:]
        trimmed = [_replace(e, e.offset - lead, e.length) for e in trimmed]
    return FormattedText(text, trimmed)


def limit_entities(entities: list[Entity]) -> list[Entity]:
    """What the server keeps of them: get_input_message_entities counts the non-splittable
    entities first (custom emoji are free), then bold, italic… merged, up to 100 in all."""
    kept: list[Entity] = []
    splittable: list[Entity] = []
    count = 0
    for entity in entities:
        if entity.type in _SPLITTABLE:
            splittable.append(entity)
        elif entity.type == "custom_emoji":
            kept.append(entity)
        elif count < MAX_ENTITIES:
            kept.append(entity)
            count += 1
    for entity in _split_entities(sorted(splittable, key=_sort_key), []):
        if count >= MAX_ENTITIES:
            break
        kept.append(entity)
        count += 1
    return fix_entities(kept)


def reader_view(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None = None,
    *,
    allow_empty: bool = False,
) -> FormattedText:
    """The text and entities a reader gets for what a bot sent (parse_mode HTML or none)."""
    if parse_mode and parse_mode.upper() == "HTML":
        parsed = parse_html(text)
    elif parse_mode:
        raise TelegramTextError(f"Bad Request: the fake does not parse {parse_mode!r}")
    else:
        parsed = FormattedText(text, [Entity.from_bot_api(e) for e in entities or []])
    fixed = fix_formatted_text(parsed, allow_empty=allow_empty)
    return FormattedText(fixed.text, limit_entities(fixed.entities))
