"""Turning answers, summaries and article lists into text: Telegram HTML or plain text.

One set of render functions takes a `Markup`, so the terminal and Telegram show the same
structure, and a `Translator` (bot/i18n.py, English by default) for the words around the
content; the content itself is shown as written. HTML escapes every piece of content or
user text and uses only tags Telegram accepts (<b>, <i>, <blockquote>). `split_message`
keeps each message within Telegram's 4,096 characters, counted as Telegram does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.answers import Answer, Match, Outcome
from bot.content import Article, Citation, Passage, citation
from bot.i18n import ENGLISH, N_, Translator

TELEGRAM_MESSAGE_LIMIT = 4096
EXCERPT_LENGTH = 160
BRIEF_LIMIT = 1000  # a group's /summary: about one phone screen, as Telegram counts
BRIEF_HEADLINE_LENGTH = 200  # characters of the headline a brief summary keeps at most
BRIEF_SECTIONS = 10  # a brief summary's section buttons at most ("Show all" has the rest)


class Markup:
    """Plain text: nothing to escape, no formatting."""

    html = False

    def esc(self, text: str) -> str:
        return text

    def bold(self, text: str) -> str:
        return text

    def italic(self, text: str) -> str:
        return text

    def quote(self, text: str) -> str:
        return "\n".join("  " + line for line in text.split("\n"))


class HtmlMarkup(Markup):
    """Telegram's HTML parse mode: escaped text in the few tags it accepts."""

    html = True

    def esc(self, text: str) -> str:
        return html.escape(text, quote=False)

    def bold(self, text: str) -> str:
        return f"<b>{self.esc(text)}</b>"

    def italic(self, text: str) -> str:
        return f"<i>{self.esc(text)}</i>"

    def quote(self, text: str) -> str:
        return f"<blockquote>{self.esc(text)}</blockquote>"


PLAIN = Markup()
HTML = HtmlMarkup()

UNANSWERED_TEXT = N_(
    "Sorry, I couldn't find that in the articles I know. "
    "Try /summary for an article's main points, or /articles to see what I cover."
)
NO_ARTICLES = N_("No articles are loaded yet.")


def render_answer(
    answer: Answer,
    markup: Markup = HTML,
    translator: Translator = ENGLISH,
    *,
    headlines: bool | None = None,
) -> str:
    """The reply to a question: the cited passage, suggestions, or a kind miss.

    Suggestions are labelled by section, and by headline too when `headlines` (the caller
    says so when more than one article is loaded; by default when they come from several).
    """
    best = answer.best
    if answer.outcome is Outcome.ANSWERED and best is not None:
        return render_match(best, markup, translator)
    if answer.outcome is Outcome.SUGGESTED and answer.matches:
        with_headline = answer.spans_articles if headlines is None else headlines
        items = [
            f"{number}. {_label(match, with_headline, markup)}\n"
            f"{markup.esc(_excerpt(match.passage.text))}"
            for number, match in enumerate(answer.matches, 1)
        ]
        return "\n\n".join([markup.esc(suggested_intro(len(answer.matches), translator)), *items])
    return markup.esc(translator.gettext(UNANSWERED_TEXT))


def suggested_intro(count: int, translator: Translator = ENGLISH) -> str:
    """What comes before `count` suggestions: worded for one, or for several."""
    return translator.ngettext(
        "I'm not sure this is what you mean. The closest passage:",
        "I'm not sure which part you mean. The {count} closest passages:",
        count,
    ).format(count=count)


def render_how_to_choose(count: int, translator: Translator = ENGLISH, *, tap: bool = False) -> str:
    """The line after `count` suggestions: how to read one (`tap`: on Telegram, where they
    are buttons too), or ask again."""
    if tap:
        text = translator.ngettext(
            "Tap it below or type 1 to read it, or ask again in other words.",
            "Tap one below or type its number (1-{count}) to read it, or ask again in other words.",
            count,
        )
    else:
        text = translator.ngettext(
            "Type 1 to read it, or ask again in other words.",
            "Type 1-{count} to read one, or ask again in other words.",
            count,
        )
    return text.format(count=count)


def render_choice_hint(count: int, translator: Translator = ENGLISH) -> str:
    """The reply to a number that is not among `count` suggestions (not a question)."""
    return translator.ngettext(
        "There is one suggestion: type 1 to read it, or ask a question.",
        "There are {count} suggestions: type 1-{count} to read one, or ask a question.",
        count,
    ).format(count=count)


def render_match(match: Match, markup: Markup = HTML, translator: Translator = ENGLISH) -> str:
    """One passage as a full answer: section, text, and its citation."""
    return "\n\n".join(
        [
            markup.bold(match.passage.section),
            markup.quote(match.passage.text),
            render_citation(match.article, match.passage, markup, translator),
        ]
    )


def render_citation(
    article: Article, passage: Passage, markup: Markup = HTML, translator: Translator = ENGLISH
) -> str:
    """'📰 headline (English title)' then 'source · date · paragraphs 3, 12'."""
    return _render_cited(citation(article, passage), markup, translator)


def _render_cited(cited: Citation, markup: Markup, translator: Translator) -> str:
    details = [cited.source, cited.date, render_paragraphs(cited.paragraphs, translator)]
    line = " · ".join(d for d in details if d)
    title = markup.italic(cited.headline)
    if cited.english_title:
        title += f" ({markup.italic(cited.english_title)})"
    return f"📰 {title}" + (f"\n{markup.esc(line)}" if line else "")


def render_paragraphs(citations: tuple[int, ...], translator: Translator = ENGLISH) -> str:
    """`(3, 12)` -> "paragraphs 3, 12"; `(7,)` -> "paragraph 7"; `()` -> "" (in the
    translator's language: "第 3、12 段")."""
    if not citations:
        return ""
    # TRANSLATORS: what separates the numbers in "paragraphs 3, 12".
    separator = translator.gettext(", ")
    numbers = separator.join(str(n) for n in citations)
    return translator.ngettext(
        "paragraph {numbers}", "paragraphs {numbers}", len(citations)
    ).format(numbers=numbers)


def render_summary(
    article: Article, markup: Markup = HTML, translator: Translator = ENGLISH, *, newer: int = 0
) -> str:
    """An article's headline, source and date, core viewpoint, and every section's bullets;
    with `newer` (how many articles are newer than this one) a last line pointing to the
    newest."""
    parts = [_heading(article, markup)]
    core = article.core_viewpoint
    parts.append(f"{markup.bold(core.section)}\n{markup.esc(_with_citations(core, translator))}")
    for number, section in enumerate(article.sections, 1):
        bullets = "\n".join(
            f"• {markup.esc(_with_citations(b, translator))}" for b in section.bullets
        )
        parts.append(f"{markup.bold(f'{number}. {section.title}')}\n{bullets}")
    if newer:
        parts.append(render_newer(newer, markup, translator))
    return "\n\n".join(parts)


def render_short_summary(
    article: Article, markup: Markup = HTML, translator: Translator = ENGLISH
) -> str:
    """An article in a few lines (a push to subscribers): headline, source and date, and
    its core viewpoint; the sections are one button away."""
    byline = " · ".join(d for d in (article.display_source, article.published_text) if d)
    core = article.core_viewpoint
    return "\n\n".join(
        [
            markup.bold(article.title) + (f"\n{markup.italic(byline)}" if byline else ""),
            markup.esc(_with_citations(core, translator)),
        ]
    )


def render_summary_brief(
    article: Article, markup: Markup = HTML, translator: Translator = ENGLISH, *, newer: int = 0
) -> str:
    """A group's /summary, within BRIEF_LIMIT as Telegram counts: the headline, source and
    date, the core viewpoint (cut to fit, at a word when there is one) with the paragraphs
    it cites, and a line saying
    the sections are the buttons below; with `newer`, the pointer to the newest article.
    The first BRIEF_SECTIONS sections' titles go on buttons (the caller's), each opening
    `render_section`."""
    heading = _heading(article, markup, headline_length=BRIEF_HEADLINE_LENGTH)
    count = len(article.sections)
    if count <= BRIEF_SECTIONS:
        # TRANSLATORS: below a group's short summary; the sections are the buttons under it.
        sections = translator.ngettext(
            "{count} section below: tap it to read its points, or “Show all”.",
            "{count} sections below: tap one to read its points, or “Show all”.",
            count,
        ).format(count=count)
    else:
        sections = translator.gettext(
            "The first {shown} of {count} sections below: tap one to read its points, "
            "or “Show all”."
        ).format(shown=BRIEF_SECTIONS, count=count)
    tail = [markup.italic(sections)] if count else []
    if newer:
        tail.append(render_newer(newer, markup, translator))
    core = article.core_viewpoint

    def brief(text: str) -> str:
        cited = _with_citations(replace(core, text=text), translator)  # "(paragraphs 2, 10)"
        body = f"{markup.bold(core.section)}\n{markup.esc(cited)}"
        return "\n\n".join([heading, body, "\n".join(tail)] if tail else [heading, body])

    text, length = brief(core.text), len(core.text)
    # Characters are not what Telegram counts (an emoji is two): shorten until it fits.
    while (over := telegram_length(text, markup.html) - BRIEF_LIMIT) > 0 and length > 1:
        length = max(length - over, 1)
        text = brief(shorten(core.text, length))
    return text


def render_section(
    article: Article, number: int, markup: Markup = HTML, translator: Translator = ENGLISH
) -> str:
    """Section `number` (1 is the first) of `article`: its title, its bullets, and one
    citation for them all (the headline, source, date and every paragraph they cite)."""
    section = article.sections[number - 1]
    bullets = "\n".join(f"• {markup.esc(b.text)}" for b in section.bullets)
    cited = sorted({n for b in section.bullets for n in b.citations})
    source = replace(citation(article, article.core_viewpoint), paragraphs=tuple(cited))
    title = markup.bold(f"{number}. {section.title}")
    return f"{title}\n{bullets}\n\n{_render_cited(source, markup, translator)}"


def render_newer(newer: int, markup: Markup = HTML, translator: Translator = ENGLISH) -> str:
    """'A newer article is loaded: /summary 1 shows it.' (`newer`: how many are newer)."""
    # TRANSLATORS: {command} is "/summary 1", the newest article's summary.
    text = translator.ngettext(
        "A newer article is loaded: {command} shows it.",
        "{count} newer articles are loaded: {command} shows the newest.",
        newer,
    )
    # In <code>: a tap copies the whole command (a command link would drop the "1").
    command = "<code>/summary 1</code>" if markup.html else "/summary 1"
    return "🆕 " + markup.esc(text.format(count=newer, command="\x00")).replace("\x00", command)


def _heading(article: Article, markup: Markup, headline_length: int | None = None) -> str:
    """The headline in bold, and the source and date below it in italics."""
    headline = article.title
    if headline_length is not None:
        headline = shorten(headline, headline_length)
    byline = " · ".join(d for d in (article.display_source, article.published_text) if d)
    return markup.bold(headline) + (f"\n{markup.italic(byline)}" if byline else "")


def shorten(text: str, length: int) -> str:
    """`text` in at most `length` characters: cut at a space in its last fifth when there is
    one (else at a character, as for Chinese), with "…"."""
    if len(text) <= length:
        return text
    cut = text[: max(length - 1, 0)]
    space = cut.rfind(" ")
    if space >= len(cut) * 4 // 5:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def render_article_list(
    articles: Sequence[Article], markup: Markup = HTML, translator: Translator = ENGLISH
) -> str:
    """The numbered list (newest first) whose numbers `/summary N` takes."""
    if not articles:
        return markup.esc(translator.gettext(NO_ARTICLES))
    lines = [markup.bold(translator.gettext("Articles, newest first:"))]
    for number, article in enumerate(articles, 1):
        byline = " · ".join(d for d in (article.display_source, article.published_text) if d)
        suffix = f" — {markup.esc(byline)}" if byline else ""
        lines.append(f"{number}. {markup.bold(article.title)}{suffix}")
    lines.append(markup.esc(translator.gettext("Send /summary N for article N.")))
    return "\n".join(lines)


def _label(match: Match, with_headline: bool, markup: Markup) -> str:
    label = markup.bold(match.passage.section)
    return f"{label} — {markup.italic(match.article.title)}" if with_headline else label


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_LENGTH:
        return text
    cut = text[:EXCERPT_LENGTH].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _with_citations(passage: Passage, translator: Translator = ENGLISH) -> str:
    cited = render_paragraphs(passage.citations, translator)
    if not cited:
        return passage.text
    # TRANSLATORS: a summary's passage and the paragraphs it cites, "(paragraphs 2, 10)".
    return translator.gettext("{text} ({paragraphs})").format(text=passage.text, paragraphs=cited)


# --- splitting long messages -------------------------------------------------------------

_HTML_TOKEN_RE = re.compile(r"<[^>]*>|&#?\w+;|[^<&]+|[<&]")
_MARKUP_RE = re.compile(r"<[^>]*>|&#?\w+;")
_TAG_RE = re.compile(r"<[^>]*>")
_TAG_NAME_RE = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


@dataclass(frozen=True)
class _Atom:
    markup: str  # what goes into the message
    width: int  # how many UTF-16 code units Telegram counts for it (0 for a tag)
    tag: str = ""  # the tag name for tags
    closing: bool = False


def telegram_length(text: str, html_mode: bool = True) -> int:
    """The length Telegram checks: UTF-16 code units of the text after entity parsing."""
    if html_mode:
        # The same tokens as _atoms, done by the regex engine: tags count nothing, an
        # entity counts as the character it stands for.
        text = _MARKUP_RE.sub(_visible, text)
    return _utf16(text)


def _balanced(text: str) -> bool:
    """True when every tag opened in `text` is closed, in order (a fragment may not be)."""
    stack: list[str] = []
    for tag in _TAG_RE.findall(text):
        name = _TAG_NAME_RE.match(tag)
        if name is None or tag.endswith("/>"):
            continue
        if tag.startswith("</"):
            if not stack or stack.pop() != name.group(1).lower():
                return False
        else:
            stack.append(name.group(1).lower())
    return not stack


def _visible(markup: re.Match[str]) -> str:
    token = markup.group()
    return "" if token.startswith("<") else html.unescape(token)


def split_message(
    text: str, limit: int = TELEGRAM_MESSAGE_LIMIT, html_mode: bool = True
) -> list[str]:
    """Split text into messages of at most `limit` (as Telegram counts), never inside a tag.

    Prefers paragraph breaks, then line breaks, then spaces; tags open at a cut are closed
    and reopened in the next message so each part is valid HTML on its own.
    """
    if telegram_length(text, html_mode) <= limit and (not html_mode or _balanced(text)):
        # The common case, without walking the text character by character.
        return [text.strip() or text]
    atoms = _atoms(text, html_mode)
    parts: list[str] = []
    start = 0
    reopen: tuple[str, ...] = ()
    while start < len(atoms):
        end, stack_at_end = _cut(atoms, start, reopen, limit)
        body = "".join(a.markup for a in atoms[start:end])
        closing = "".join(_closing_tag(t) for t in reversed(stack_at_end))
        part = "".join(reopen) + body + closing
        # A part of tags and whitespace only would be an empty message, which Telegram refuses.
        if "".join(a.markup for a in atoms[start:end] if not a.tag).strip():
            parts.append(part.strip())
        start, reopen = end, stack_at_end
        while start < len(atoms) and not atoms[start].tag and atoms[start].markup.isspace():
            start += 1
    return parts or [text]


def _atoms(text: str, html_mode: bool) -> list[_Atom]:
    if not html_mode:
        return [_Atom(c, _utf16(c)) for c in text]
    atoms = []
    for token in _HTML_TOKEN_RE.findall(text):
        if token.startswith("<") and len(token) > 1:
            name = _TAG_NAME_RE.match(token)
            atoms.append(
                _Atom(token, 0, name.group(1).lower() if name else "?", token.startswith("</"))
            )
        elif token.startswith("&") and len(token) > 1:
            atoms.append(_Atom(token, _utf16(html.unescape(token))))
        else:
            atoms.extend(_Atom(c, _utf16(c)) for c in token)
    return atoms


def _closing_tag(opening: str) -> str:
    """The closing tag of an opening tag left open at a cut."""
    name = _TAG_NAME_RE.match(opening)
    return f"</{name.group(1)}>" if name else ""


def _cut(
    atoms: list[_Atom], start: int, reopen: tuple[str, ...], limit: int
) -> tuple[int, tuple[str, ...]]:
    """Where the message starting at `start` ends, and the tags still open there."""
    stack = list(reopen)
    width = 0
    # Best cut so far for each kind of break: 3 paragraph, 2 line, 1 space.
    best: dict[int, tuple[int, tuple[str, ...]]] = {}
    index = start
    while index < len(atoms):
        atom = atoms[index]
        if atom.tag:
            if atom.closing:
                if stack:
                    stack.pop()
            elif not atom.markup.endswith("/>"):
                stack.append(atom.markup)
            index += 1
            continue
        if width + atom.width > limit:
            for kind in (3, 2, 1):
                if kind in best:
                    return best[kind]
            return max(index, start + 1), tuple(stack)  # no break at all: hard cut
        width += atom.width
        index += 1
        if atom.markup == "\n":
            kind = 3 if index >= 2 and atoms[index - 2].markup == "\n" else 2
            best[kind] = (index, tuple(stack))
        elif atom.markup == " ":
            best[1] = (index, tuple(stack))
    return len(atoms), tuple(stack)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
