"""The bot's languages: English, Simplified and Traditional Chinese.

Everything the bot says around the content (labels, buttons, replies, menus) is an English
message in the code, looked up in a gettext catalog at the moment it is sent; the content
itself (passages, headlines, section titles) is shown as written. The catalogs are the
`.po` files in `bot/locale/<language>/LC_MESSAGES/messages.po`, read with Babel's `read_po`
when the bot starts (no compiled `.mo` files: what is in the repository is what runs).
How to extract the messages and update the catalogs: docs/telegram.md#languages.

- `Translator`: one language's `gettext` and `ngettext` (plurals as its catalog says).
- `Translators`: the three, loaded once (`load_translators`), and `for_reader`, the
  language a reader gets: the chat's choice (`/language`, kept in `ChatState.language`),
  else the reader's Telegram `language_code`, else English.
- `N_` marks a message defined ahead of its use (a module constant) for the extractor.

No Telegram import, like the rest of the domain.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"

EN, ZH_HANS, ZH_HANT = "en", "zh_Hans", "zh_Hant"
LANGUAGES = (EN, ZH_HANS, ZH_HANT)
# Each language's name in that language: what the /language buttons show (not translated).
LANGUAGE_NAMES = {EN: "English", ZH_HANS: "简体中文", ZH_HANT: "繁體中文"}

# Telegram's language_code (an IETF tag such as "en", "zh-hans", "zh-TW") -> language.
_SIMPLIFIED_TAGS = frozenset({"zh", "zh-hans", "zh-cn", "zh-sg", "zh-my"})
_TRADITIONAL_TAGS = frozenset({"zh-hant", "zh-tw", "zh-hk", "zh-mo"})


def N_(message: str) -> str:
    """Mark `message` for the catalogs without translating it (translate where it is sent)."""
    return message


def language_of_code(language_code: str | None) -> str:
    """The language for a Telegram `language_code`: zh-hans, zh-cn, zh-sg and plain zh are
    Simplified; zh-hant, zh-tw, zh-hk and zh-mo Traditional; anything else English."""
    tag = (language_code or "").strip().lower().replace("_", "-")
    if not tag.startswith("zh"):
        return EN
    if tag in _TRADITIONAL_TAGS or tag.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return ZH_HANT
    if tag in _SIMPLIFIED_TAGS or tag.startswith("zh-"):
        return ZH_HANS
    return EN  # "zha", "zhx"...: other languages whose code starts with zh


def resolve_language(chosen: str | None, language_code: str | None) -> str:
    """The chat's choice when it made one (`ChatState.language`), else the reader's."""
    if chosen in LANGUAGES:
        return chosen
    return language_of_code(language_code)


@dataclass(frozen=True)
class Translator:
    """One language's messages. Without a catalog it speaks the English of the code."""

    language: str = EN
    translations: gettext_module.NullTranslations = field(
        default_factory=gettext_module.NullTranslations, repr=False, compare=False
    )

    def gettext(self, message: str) -> str:
        """`message` in this language (as written when the catalog lacks it)."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form for `n` of a message with a plural, by the catalog's plural rule
        (English: `singular` for 1, else `plural`; Chinese has one form)."""
        return self.translations.ngettext(singular, plural, n)


# The default of every function that renders text: the code's English, no catalog read.
ENGLISH = Translator(EN)


@dataclass(frozen=True)
class Translators:
    """A Translator for every language; an unknown language gets English."""

    by_language: Mapping[str, Translator] = field(default_factory=lambda: {EN: ENGLISH})

    def __getitem__(self, language: str) -> Translator:
        return self.by_language.get(language) or self.by_language.get(EN) or ENGLISH

    def for_reader(self, chosen: str | None, language_code: str | None) -> Translator:
        """The Translator of `resolve_language(chosen, language_code)`."""
        return self[resolve_language(chosen, language_code)]


def catalog_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path) -> Catalog:
    """A `.po` file as Babel's Catalog."""
    with path.open("rb") as file:
        return read_po(file, domain=DOMAIN)


def translations_of(catalog: Catalog) -> gettext_module.GNUTranslations:
    """The catalog as the standard library's translations, compiled in memory: fuzzy and
    empty entries left out (they fall back to the English), plurals by its Plural-Forms."""
    for message in list(catalog):
        if message.id and not translated(message):
            del catalog[message.id]  # the English, not an empty form of a plural
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def translated(message: Message) -> bool:
    """Whether a catalog entry has a translation: every plural form, and not fuzzy."""
    forms = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return not message.fuzzy and all(forms)


def load_translators(locale_dir: Path = LOCALE_DIR) -> Translators:
    """Read every language's catalog (English has no catalog of its own to need: a missing
    or empty one is the code's English)."""
    by_language: dict[str, Translator] = {}
    for language in LANGUAGES:
        path = catalog_path(language, locale_dir)
        if language == EN and not path.exists():
            by_language[language] = ENGLISH
            continue
        by_language[language] = Translator(language, translations_of(read_catalog(path)))
    return Translators(by_language)


@functools.cache
def translators() -> Translators:
    """The bundled catalogs, read once per process."""
    return load_translators()
