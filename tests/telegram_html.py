"""A strict validator of Telegram's HTML parse mode, for tests (stdlib only).

`parse_telegram_html` does what the Bot API does with `parse_mode=HTML` before sending:
it checks the tags and entities and returns the visible text, or raises `TelegramHtmlError`
with a message like the API's "Can't parse entities: ...". It is stricter than Telegram in
two ways, both on purpose: a bare `&` and an unknown named entity are errors (Telegram
keeps them as text), and so is any attribute Telegram would silently ignore. A bare `>`
is accepted, as Telegram does.
"""

from __future__ import annotations

import re

# Tag -> the attributes it may carry (any other attribute is an error).
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("b", "strong", "i", "em", "u", "ins", "s", "strike", "del"), frozenset()),
    **dict.fromkeys(("tg-spoiler", "pre"), frozenset()),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_ENTITY_RE = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]*));")
_TEXT_RE = re.compile(r"[^<&]+")
_TAG_START_RE = re.compile(r"</?[A-Za-z]")
_ATTRS = r"""(?:\s+[A-Za-z][\w-]*(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'<>=]+))?)*"""
_TAG_RE = re.compile(rf"<(/?)([A-Za-z][A-Za-z0-9-]*)({_ATTRS})\s*>")
_ATTR_RE = re.compile(r"""([A-Za-z][\w-]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'<>=]+))?""")


class TelegramHtmlError(ValueError):
    """The Bot API would answer 400 Bad Request: can't parse entities."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Can't parse entities: {reason}")
        self.reason = reason


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji like 😀 counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_telegram_html(text: str) -> str:
    """The visible text of a Telegram HTML message; raises `TelegramHtmlError` if invalid."""
    visible: list[str] = []
    open_tags: list[str] = []
    position = offset = 0  # offset: in UTF-8 bytes, as Telegram reports positions
    while position < len(text):
        if text[position] == "&":
            match = _ENTITY_RE.match(text, position)
            if match is None:
                raise TelegramHtmlError(f"Unescaped '&' at byte offset {offset}")
            visible.append(_decode_entity(match, offset))
        elif text[position] == "<":
            if _TAG_START_RE.match(text, position) is None:
                raise TelegramHtmlError(f'Unsupported start tag "" at byte offset {offset}')
            match = _TAG_RE.match(text, position)
            if match is None:
                raise TelegramHtmlError(f"Unclosed or malformed tag at byte offset {offset}")
            name, attributes = match[2].lower(), match[3]
            if match[1]:
                _close(open_tags, name, attributes, offset)
            else:
                _check_start_tag(name, attributes, offset)
                open_tags.append(name)
        else:
            match = _TEXT_RE.match(text, position)
            assert match is not None
            visible.append(match[0])
        offset += len(match[0].encode("utf-8"))
        position = match.end()
    if open_tags:
        raise TelegramHtmlError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(visible)


def _decode_entity(match: re.Match[str], offset: int) -> str:
    """The character an entity stands for: one of the 4 named ones, or any numeric one."""
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in NAMED_ENTITIES:
            raise TelegramHtmlError(f'Unsupported HTML entity "&{name};" at byte offset {offset}')
        return NAMED_ENTITIES[name]
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise TelegramHtmlError(f"Invalid character reference at byte offset {offset}")
    return chr(code)


def _check_start_tag(name: str, attributes: str, offset: int) -> None:
    """Raise unless the tag and its attributes are ones Telegram accepts."""
    if name not in ALLOWED_TAGS:
        raise TelegramHtmlError(f'Unsupported start tag "{name}" at byte offset {offset}')
    values: dict[str, str] = {}
    for attribute, raw in _ATTR_RE.findall(attributes):
        attribute = attribute.lower()
        if attribute not in ALLOWED_TAGS[name] or attribute in values:
            raise TelegramHtmlError(
                f'Unsupported attribute "{attribute}" in tag "{name}" at byte offset {offset}'
            )
        values[attribute] = raw[1:-1] if raw[:1] in ("'", '"') else raw
    if name == "span" and values.get("class") != "tg-spoiler":
        raise TelegramHtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "code" and not values.get("class", "language-").startswith("language-"):
        raise TelegramHtmlError(f'Unsupported class of tag "code" at byte offset {offset}')
    if name == "a" and not values.get("href"):
        raise TelegramHtmlError(f'Tag "a" must have an href at byte offset {offset}')
    if name == "tg-emoji" and not values.get("emoji-id", "").isdigit():
        raise TelegramHtmlError(f'Tag "tg-emoji" must have an emoji-id at byte offset {offset}')


def _close(open_tags: list[str], name: str, attributes: str, offset: int) -> None:
    """Close the innermost open tag, which must be `name`."""
    if not open_tags or attributes.strip():
        raise TelegramHtmlError(f"Unexpected end tag at byte offset {offset}")
    if open_tags[-1] != name:
        raise TelegramHtmlError(
            f'Unmatched end tag at byte offset {offset}, expected "</{open_tags[-1]}>", '
            f'found "</{name}>"'
        )
    open_tags.pop()
