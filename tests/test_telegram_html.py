"""The Telegram HTML validator the rendering and end-to-end tests rely on: it must accept
what Telegram accepts (that our renderer uses) and reject what Telegram rejects."""

from __future__ import annotations

import pytest

from tests.telegram_html import TelegramHtmlError, parse_telegram_html, utf16_length


@pytest.mark.parametrize(
    ("markup", "visible"),
    [
        ("", ""),
        ("plain text, no markup", "plain text, no markup"),
        ("a &lt; b &gt; c &amp; &quot;d&quot;", 'a < b > c & "d"'),
        ("a > b", "a > b"),  # Telegram takes a bare '>' as text
        ("&#60;&#x3C;&#X3c;&#128512;&#x1F600;", "<<<😀😀"),
        ("<b>bold</b> <strong>strong</strong>", "bold strong"),
        ("<i>i</i><em>em</em><u>u</u><ins>ins</ins>", "iemuins"),
        ("<s>s</s><strike>strike</strike><del>del</del>", "sstrikedel"),
        ("<B>upper</B>", "upper"),
        ("<b><i>nested</i> and <u>more</u></b>", "nested and more"),
        ('<span class="tg-spoiler">hidden</span>', "hidden"),
        ("<tg-spoiler>hidden</tg-spoiler>", "hidden"),
        ('<a href="https://example.com/?a=1&amp;b=2">link</a>', "link"),
        ("<a href='tg://user?id=1'>user</a>", "user"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<code>x &lt; y</code>", "x < y"),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
        ("<blockquote>quoted\nlines</blockquote>", "quoted\nlines"),
        ("<blockquote expandable>long</blockquote>", "long"),
        ("<b >spaced</b >", "spaced"),
        ("中文 😀 <i>混合</i>", "中文 😀 混合"),
    ],
)
def test_accepts_telegram_html(markup: str, visible: str) -> None:
    assert parse_telegram_html(markup) == visible


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("x <div>y</div>", 'Unsupported start tag "div" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br"'),
        ("<p>para</p>", 'Unsupported start tag "p"'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>inner closed only</i>", 'start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<", 'Unsupported start tag ""'),
        ("<1>", 'Unsupported start tag ""'),
        ("<b", "Unclosed or malformed tag at byte offset 0"),
        ("中<b", "at byte offset 3"),  # offsets count UTF-8 bytes, like Telegram's
        ("a & b", "Unescaped '&' at byte offset 2"),
        ("&", "Unescaped '&'"),
        ("&amp", "Unescaped '&'"),
        ("&;", "Unescaped '&'"),
        ("&#;", "Unescaped '&'"),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ("&apos;", 'Unsupported HTML entity "&apos;"'),
        ("&AMP;", 'Unsupported HTML entity "&AMP;"'),
        ("&#0;", "Invalid character reference"),
        ("&#xD800;", "Invalid character reference"),
        ("&#x110000;", "Invalid character reference"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<span class="other">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<a>x</a>", 'Tag "a" must have an href'),
        ("<tg-emoji>👍</tg-emoji>", 'Tag "tg-emoji" must have an emoji-id'),
        ('<b class="x">y</b>', 'Unsupported attribute "class" in tag "b"'),
        ("<blockquote collapsed>y</blockquote>", 'Unsupported attribute "collapsed"'),
        ('<code class="python">x</code>', 'Unsupported class of tag "code"'),
        ('<b">x</b>', "Unclosed or malformed tag"),
    ],
)
def test_rejects_what_telegram_rejects(markup: str, reason: str) -> None:
    with pytest.raises(TelegramHtmlError) as caught:
        parse_telegram_html(markup)
    message = str(caught.value)
    assert message.startswith("Can't parse entities: ")
    assert reason in message
    assert isinstance(caught.value, ValueError)


def test_validator_is_fast_on_long_messages() -> None:
    # 20,000 entities and tags must not go quadratic: the split tests parse many of these.
    markup = "<b>&amp;</b> 中😀" * 20_000
    assert parse_telegram_html(markup) == "& 中😀" * 20_000


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("abc", 3),
        ("中文字", 3),  # BMP: one unit each
        ("😀", 2),  # astral: a surrogate pair
        ("a😀b", 4),
        ("👍🏽", 4),  # emoji + skin tone modifier
        ("\U0001f468\u200d\U0001f469", 5),  # ZWJ sequence: 2 + 1 + 2
        ("é", 1),
    ],
)
def test_utf16_length(text: str, length: int) -> None:
    assert utf16_length(text) == length
