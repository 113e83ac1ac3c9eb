"""bot/chinese.py: Traditional -> Simplified, segmentation, English terms from CC-CEDICT."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import chinese
from bot.chinese import english_terms, glosses, lexicon, segment, to_simplified
from tests.conftest import ROOT, hermetic_environment


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("阿里雲有多少客戶", "阿里云有多少客户"),
        ("騰訊資本開支", "腾讯资本开支"),
        ("阿里云有多少客户", "阿里云有多少客户"),  # already Simplified: unchanged
        ("Alibaba 2024, 雲", "Alibaba 2024, 云"),  # Latin, digits, punctuation kept
    ],
)
def test_to_simplified(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified


def test_segment_a_short_sentence() -> None:
    assert segment("我们需要更多的数据中心") == ["我们", "需要", "更", "多", "的", "数据中心"]


def test_segment_keeps_latin_words_and_numbers_and_drops_punctuation() -> None:
    assert segment("华为在AI方面的投资，2024年？") == [
        "华为", "在", "AI", "方面", "的", "投资", "2024", "年",
    ]  # fmt: skip


def test_segment_joins_names_the_lexicon_knows() -> None:
    # jieba alone splits 英伟达 (Nvidia) into 英 + 伟达; the lexicon has the name.
    assert "英伟达" in segment("英伟达的芯片")


def test_lexicon_entries_are_short_and_clean() -> None:
    entries = lexicon()
    assert len(entries) > 50_000
    for word in ("收入", "计算", "云", "客户"):
        found = glosses(word)
        assert 1 <= len(found) <= 4
        for gloss in found:
            assert len(gloss.split()) <= 4
            assert "(" not in gloss and "[" not in gloss and "CL:" not in gloss
    assert glosses("没有这个词") == []


def test_lexicon_lines_are_sorted_for_bisection() -> None:
    lines = lexicon().lines
    assert lines == sorted(lines)
    assert all(line.count(b"\t") == 1 for line in lines)
    assert len({line.split(b"\t")[0] for line in lines}) == len(lines)
    assert "收入" in lexicon() and "收" in lexicon() and "没有这个词" not in lexicon()


def test_english_terms_of_a_cloud_revenue_question() -> None:
    terms = english_terms("云计算的收入")
    assert "cloud" in terms
    assert {"compute", "computing", "calculate"} & set(terms)
    assert {"revenue", "income"} & set(terms)
    # 的 is a function word: nothing of its glosses ("of", "aim"...) comes through.
    assert "aim" not in terms and "of" not in terms


def test_english_terms_convert_traditional_first() -> None:
    assert english_terms("騰訊資本開支") == english_terms("腾讯资本开支")
    terms = english_terms("騰訊資本開支")
    assert "tencent" in terms and "capital" in terms
    assert {"expenditures", "expenses"} & set(terms)


def test_english_terms_are_distinct_lower_case_words_without_stopwords() -> None:
    terms = english_terms("阿里雲有多少客戶？客戶！")
    assert len(terms) == len(set(terms))
    assert all(term == term.lower() and " " not in term for term in terms)
    assert "customer" in terms
    assert not {"how", "many", "of", "the"} & set(terms)


def test_unknown_words_fall_back_to_characters_or_stay() -> None:
    # Latin words and numbers are kept as they are (lower-cased).
    assert english_terms("TikTok 2024") == ["tiktok", "2024"]
    # Function words alone give nothing.
    assert english_terms("这是什么") == []
    # Empty, punctuation, characters beyond the lexicon: no error.
    for text in ("", "？！", "𠀀𠀁", "\x00", "  "):
        assert isinstance(english_terms(text), list)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_english_terms_never_raise(text: str) -> None:
    terms = english_terms(text)
    assert all(isinstance(term, str) and term for term in terms)


def test_without_opencc_and_rjieba_the_module_degrades(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Simulate both wheels missing: the cached loaders are emptied and imports fail.
    chinese._converter.cache_clear()
    chinese._cutter.cache_clear()
    monkeypatch.setitem(sys.modules, "opencc", None)
    monkeypatch.setitem(sys.modules, "rjieba", None)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.chinese"):
            assert to_simplified("騰訊") == "騰訊"
            assert segment("云计算的收入") == ["云", "计算", "的", "收入"]
            assert "revenue" in english_terms("云计算的收入")
        assert "opencc" in caplog.text and "rjieba" in caplog.text
    finally:
        chinese._converter.cache_clear()
        chinese._cutter.cache_clear()


def test_importing_bot_chinese_loads_nothing_until_used() -> None:
    code = (
        "import sys, bot.chinese; "
        "print(any(m in sys.modules for m in ('opencc', 'rjieba')), "
        "bot.chinese.lexicon.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=hermetic_environment(),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.split() == ["False", "0"]


@pytest.mark.parametrize(
    ("segmented", "words"),
    [
        (["国产手机"], ["国产", "手机"]),  # a compound the lexicon lacks: its known words
        (["篇文章"], ["篇"]),  # no word: split at the function word, the rest kept
        (["手机", "AI", "是"], ["手机", "AI", "是"]),  # known words and Latin untouched
    ],
)
def test_dictionary_words_cut_unknown_compounds_into_known_words(
    segmented: list[str], words: list[str]
) -> None:
    assert all(glosses(word) for word in ("国产", "手机"))
    assert chinese.dictionary_words(segmented) == words


def test_a_chinese_question_reads_capitalised_glosses_whole() -> None:
    from bot.content import Passage
    from bot.matching import Matcher

    matcher = Matcher([Passage("a", 1, "", "Taobao sells clothes to shoppers in China.")])
    # CC-CEDICT writes names capitalised ("Taobao", "China"): read as "aobao" before.
    assert {"taobao", "china"} <= set(matcher.question_words("淘宝在中国大陆卖什么"))


def test_a_chinese_word_the_dictionary_lacks_is_found_in_an_articles_headline() -> None:
    """宇树 (Unitree) is in no dictionary: the article's own Chinese headline has it."""
    from dataclasses import replace

    from bot.content import Passage
    from bot.matcher_config import MatcherConfig
    from bot.matching import Matcher

    assert not glosses("宇树")
    passages = [
        Passage("robots", 1, "", "Unitree sold 5,500 humanoid robots last year."),
        Passage("robots", 2, "", "Its joints cost about half of each machine."),
        Passage("drinks", 1, "", "Mixue sold 9 billion cups of tea drinks last year."),
    ]
    headlines = {"robots": "宇树科技：人形机器人出货量领先", "drinks": "蜜雪冰城：茶饮卖出90亿杯"}
    question = "宇樹去年賣了多少台"  # Traditional, as a reader in Taiwan or Hong Kong types it
    found = Matcher(passages, headlines=headlines).search(question)
    assert found[0].passage.id == "robots#1"
    without = Matcher(passages, MatcherConfig(headline_credit=0.0), headlines=headlines)
    scores = {s.passage.id: s.score for s in without.search(question)}
    assert scores["robots#1"] < found[0].score
    # The other article's passage, whose headline lacks the word, scores as before.
    assert {s.passage.id: s.score for s in found}["drinks#1"] == scores["drinks#1"]
    # Only a Chinese headline is read, and only for a Chinese word of two characters or more.
    english = Matcher(passages, headlines={"robots": "Unitree's robots", "drinks": "Mixue"})
    assert english.search(question)[0].score == without.search(question)[0].score
    one_character = replace(MatcherConfig(), skip_single_characters=False)
    single = Matcher(passages, one_character, headlines={"robots": "树", "drinks": "茶"})
    assert single._headline_articles("树") is None
