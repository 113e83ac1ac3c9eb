from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.glossary import Glossary, load_glossary, parse_glossary
from bot.library import Library, load_library
from bot.parsing import ArticleError
from bot.text import normalise
from tests.conftest import SEEDS

BUNDLED = load_glossary(SEEDS / "aliases.toml")


def rewrite(glossary: Glossary, question: str) -> str:
    return " ".join(glossary.apply(normalise(question)).split())


@pytest.mark.parametrize(
    ("alias", "term"),
    [
        ("阿里巴巴", "alibaba"),
        ("腾讯", "tencent"),
        ("华为", "huawei"),
        ("深度求索", "deepseek"),
        ("云计算", "cloud computing"),
        ("人工智能", "ai"),
        ("Aliyun", "alibaba cloud"),
        ("capex", "capital expenditure"),
        ("SMEs", "small and medium-sized enterprises"),
    ],
)
def test_bundled_glossary_maps_the_issue_examples(alias: str, term: str) -> None:
    assert rewrite(BUNDLED, alias) == term


def test_longest_alias_wins_and_latin_aliases_match_whole_words() -> None:
    glossary = parse_glossary(
        '[aliases]\n"Alibaba" = ["阿里", "ali"]\n"Alibaba Cloud" = ["阿里云"]\n'
    )
    assert rewrite(glossary, "阿里云和阿里") == "alibaba cloud 和 alibaba"
    assert rewrite(glossary, "Ali's cloud") == "alibaba cloud"
    assert rewrite(glossary, "alibaba and khalid") == "alibaba and khalid"  # no "ali" inside words


def test_aliases_are_normalised_like_questions() -> None:
    glossary = parse_glossary('[aliases]\n"Tencent" = ["ＴＥＮＣＥＮＴ Holdings"]\n')
    assert rewrite(glossary, "tencent holdings results") == "tencent results"


def test_a_single_string_is_one_alias() -> None:
    assert rewrite(parse_glossary('[aliases]\n"Huawei" = "华为"\n'), "华为") == "huawei"


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [
        ('[aliases]\n"Tencent" = ["腾讯"]\n"Huawei" = ["华为"\n', 3, "not valid TOML"),
        ('[aliases]\n"Tencent" = ["腾讯"]\n"Huawei" = 5\n', 3, "list of strings"),
        ('[aliases]\n"Tencent" = ["腾讯", 7]\n', 2, "list of strings"),
        ('[synonyms]\n"Tencent" = ["腾讯"]\n', 1, "unknown table"),
        ('[aliases]\n"Tencent" = ["腾讯"]\n"Huawei" = ["腾讯"]\n', 2, "both"),
        ('[aliases]\n"Tencent" = [" "]\n', 2, "empty alias"),
    ],
)
def test_malformed_glossary_is_rejected_with_line_and_reason(
    text: str, line: int, phrase: str
) -> None:
    with pytest.raises(ArticleError) as raised:
        parse_glossary(text, "seeds/aliases.toml")
    problem = raised.value.problem
    assert (problem.file, problem.line) == ("seeds/aliases.toml", line)
    assert phrase in problem.reason


def test_missing_glossary_is_empty(tmp_path: Path) -> None:
    assert len(load_glossary(tmp_path / "aliases.toml")) == 0


def test_glossary_is_applied_to_questions(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes((SEEDS / "000_4859508c0bdee28a.txt").read_bytes())
    without, _ = load_library(Settings(seeds_dir=tmp_path))
    # CC-CEDICT alone reaches a passage through the words it has (腾讯 -> Tencent, 资本开支 ->
    # capital expenditure), not through a name it lacks (深度求索, DeepSeek's Chinese name,
    # reads as "depth" + "quest"): the admin's alias makes that one answerable.
    assert without.ask("腾讯的资本开支").best.passage.id == "a#6"  # type: ignore[union-attr]
    question = "深度求索还需要大量算力吗"
    assert without.ask(question).outcome.value == "unanswered"
    (tmp_path / "aliases.toml").write_bytes((SEEDS / "aliases.toml").read_bytes())
    with_glossary, loaded = load_library(Settings(seeds_dir=tmp_path))
    assert loaded.rejected == ()
    answer = with_glossary.ask(question)
    assert answer.outcome.value == "answered"
    assert answer.best is not None and "DeepSeek" in answer.best.passage.text


def test_broken_glossary_is_reported_and_the_previous_one_kept(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes((SEEDS / "000_4859508c0bdee28a.txt").read_bytes())
    (tmp_path / "aliases.toml").write_text('[aliases]\n"Tencent" = ["腾讯"]\n', encoding="utf-8")
    first, _ = load_library(Settings(seeds_dir=tmp_path))
    (tmp_path / "aliases.toml").write_text('[aliases]\n"Tencent" = ["腾讯"\n', encoding="utf-8")
    second, loaded = load_library(Settings(seeds_dir=tmp_path), previous=first)
    (problem,) = loaded.rejected
    assert problem.file.endswith("aliases.toml") and problem.line == 2
    assert second.glossary is first.glossary
    assert second.ask("腾讯 capital expenditure").outcome.value == "answered"
    # Without a previous library (a first start) the broken glossary leaves none.
    fresh, _ = load_library(Settings(seeds_dir=tmp_path))
    assert len(fresh.glossary) == 0


def test_library_exposes_its_glossary() -> None:
    assert len(Library([], glossary=BUNDLED).glossary) == len(BUNDLED) > 100


def reference_apply(glossary: Glossary, question: str) -> str:
    """The glossary's rule spelled out plainly: longest alias first, Latin ones as words."""
    import re

    def pattern(alias: str) -> str:
        if re.search(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", alias):
            return re.escape(alias)
        return rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])"

    ordered = sorted(glossary.aliases, key=len, reverse=True)
    plain = re.compile("|".join(pattern(a) for a in ordered))
    return plain.sub(lambda m: f" {glossary.aliases[m.group(0)]} ", question)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*list(BUNDLED.aliases)[:80], " ", "x", "2024", "阿", "里", "ali"]),
        max_size=12,
    ).map("".join)
)
def test_trie_matches_the_plain_longest_first_rule(question: str) -> None:
    assert " ".join(BUNDLED.apply(question).split()) == " ".join(
        reference_apply(BUNDLED, question).split()
    )
