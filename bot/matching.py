"""Finding the passage that answers a question.

The question's typos are corrected (`bot.spelling`) and its aliases rewritten
(`bot.glossary`). An inverted index with IDF weights finds the candidate passages; each is
scored by *coverage*, the IDF-weighted share of the question's terms it contains (a
WordNet synonym, `bot.thesaurus`, earns part of a term's credit; words the corpus has
never seen count against it, so questions about other things score low), and the best
candidates are reranked with rapidfuzz on their content words. The final score is in [0, 1]
and keeps its meaning as the corpus grows, which is what lets fixed thresholds decide
between answering, suggesting and admitting ignorance. A passage whose article does not
mention a name the question asks about (one the articles write capitalised, like ByteDance,
or one the reader capitalised, like France) is at most suggested, however well it scores;
so is a passage with no number for a "how much" question or no date for a "when" question.
The glossary adds its term beside the reader's word ("capex" -> capital expenditure),
counted only in articles that have the term.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import insort
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain

import numpy as np
from rapidfuzz import fuzz, utils

from bot.answers import Outcome
from bot.chinese import dictionary_words, segment, to_simplified, word_glosses
from bot.chinese import prepare as prepare_chinese
from bot.content import CORE_VIEWPOINT, Passage
from bot.glossary import Glossary
from bot.matcher_config import MatcherConfig
from bot.semantic import SemanticIndex, top_indices
from bot.spelling import SpellingCorrector
from bot.text import CHINESE_STOP_RE, CJK_RE, STOPWORDS, normalise, word_terms, words
from bot.thesaurus import Thesaurus, bundled_thesaurus

# Words the articles only ever write capitalised are names (see Matcher.__init__). No \b:
# twice as fast, and the "Seek" it also finds in "DeepSeek" is no indexed term.
_CAPITALISED_RE = re.compile(r"[A-Z][A-Za-z0-9]*")
# A word as bot.text reads one ("Ele.me", "open-source"), with its case still on.
_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:[.\-'][A-Za-z0-9]+)*")
# A passage that answers "how much/many" holds a number; one that answers "when", a date.
_HOW_MUCH_RE = re.compile(r"\bhow (?:much|many)\b|多少|几[个家台次年]")
_NUMBER_RE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|"
    r"thousands?|millions?|billions?|trillions?|percent|half|double|triple)\b|[万亿千百%]"
)
# "How much does it cost", "how much do riders earn": the amount asked for is money, so
# the passage must hold one (a currency), not just any number.
_MONEY_ASKED_RE = re.compile(
    r"\b(?:cost|costs|price|prices|priced|pay|pays|paid|earn|earns|earned|salary|salaries|"
    r"wage|wages|worth|charge|charges|fee|fees)\b|多少钱|价格|价钱|售价|工资|收入多少|赚多少"
)
_MONEY_RE = re.compile(
    r"[$¥€£]|\b(?:yuan|rmb|cny|usd|dollars?|euros?|pounds?|hk\$)\b|元|美元|人民币"
)
_WHEN_RE = re.compile(r"\bwhen\b|什么时候|何时|哪年|哪一年|几月")
# Counted things too general to be named as asked: "how many people use it" is answered by
# a passage counting users, "how many units" by one counting phones.
_GENERIC_THINGS = frozenset({"people", "persons", "person", "times", "ones", "things", "units"})
# What a question asks the amount or the value of: "how many followers", "what was Hesai's
# revenue", "what is the price of ...": the words after "how many" or a possessive, up to a
# verb or preposition, whose last is the thing (English noun phrases end in their head:
# "how many small businesses", "Hesai's second-quarter revenue"). Read on the lower-cased
# question, possessive kept.
_PHRASE_END = (
    r"(?=\s+(?:does|do|did|is|are|was|were|has|have|had|will|would|can|could|called|named|"
    r"of|in|at|on|for|per|last|this|from|to|now|today|currently|worth)\b"
)
# "how many N [verb]": the phrase ends at a verb or preposition; when none is known
# ("how many people use it"), the first word is the thing.
_HOW_MANY_PHRASE_RE = re.compile(
    r"\bhow many ((?:[a-z][a-z\-]*\s+){0,3}?[a-z][a-z\-]*)" + _PHRASE_END + ")"
)
_HOW_MANY_WORD_RE = re.compile(r"\bhow many ([a-z][a-z\-]*)")
# "what is X's N": a possessive's phrase may also end the question.
_POSSESSIVE_THING_RE = re.compile(
    r"^\W*what (?:is|was|are|were)\b[^?]*?'s ((?:[a-z][a-z\-]*\s+){0,3}?[a-z][a-z\-]*)"
    + _PHRASE_END
    + r"|\s*[?.!,]|\s*$)"
)
# "what is the N of ...".
_THING_OF_RE = re.compile(
    r"^\W*what (?:is|was|are|were) (?:the )?([a-z][a-z\-]+) (?:of|for|in|at)\b"
)
_DATE_RE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|"
    r"\bq[1-4]\b|quarter|\b(?:year|month|week)s?\b|since|ago|\d+\s*[年月日]|季度"
)

# Other facts a question may ask for, and what a passage must hold to give them: an age,
# who founded or runs a company, where it is based, a dividend, a share price or whether
# to buy its stock. A passage on the company's revenue shares the question's names and
# words, and meaning lifts it, but it holds none of these; the question is off its topic.
_FACTS_ASKED: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(r"\bhow old\b|\bage\b(?! of)|多大了|几岁|年龄|多少岁"),  # not "the age of AI"
        re.compile(r"\b\d{1,3}[- ]year[- ]old\b|\baged \d{1,3}\b|\b\d{1,3} years old\b|\bborn\b"),
    ),
    (
        re.compile(
            r"\bwho (?:is|was|are)\b.*\b(?:ceo|chief executive|chairman|chairwoman|president|"
            r"boss|head)\b|\bwho (?:founded|started|runs|leads|owns)\b|\bfounders?\b|\bceo\b|"
            r"\bchairman\b|创始人|董事长|总裁|老板|谁创办|首席执行官"
        ),
        re.compile(
            r"\bfound(?:er|ers|ed|ing)\b|\bco-?founder\b|\bceo\b|\bchief executive\b|"
            r"\bchairman\b|\bchairwoman\b|\bpresident\b|\bhead of\b|\bboss\b"
        ),
    ),
    (
        re.compile(r"\bheadquarter|\bhq\b|\bwhere (?:is|are)\b.*\bbased\b|总部"),
        re.compile(r"\bheadquarter|\bbased in\b|\bhq\b"),
    ),
    (re.compile(r"\bdividends?\b|分红|股息"), re.compile(r"\bdividends?\b|\bpayout\b")),
    (
        re.compile(
            r"\bshare price\b|\bstock price\b|\bprice target\b|\bshould i (?:buy|sell)\b|"
            r"\bbuy (?:the |its )?(?:stock|shares)\b|股价|目标价|买.*股票"
        ),
        re.compile(
            r"\bshare price\b|\bstock price\b|\bprice target\b|\bmarket value\b|\bvaluation\b|"
            r"\bshares? (?:rose|fell|jumped|dropped|climbed|gained|lost)\b"
        ),
    ),
)


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float


@dataclass(frozen=True)
class MatchResult:
    """The outcome and the passages behind it, best first."""

    outcome: Outcome
    matches: tuple[ScoredPassage, ...]


@dataclass(frozen=True)
class _Meaning:
    """One thing a reader's word may stand for, as indexed terms."""

    terms: tuple[str, ...]  # its indexed terms
    shares: tuple[float, ...]  # each term's share of their IDF: a passage earns the sum of
    # the shares of the terms it has...
    articles: np.ndarray  # ...if its article has them all (sorted first-passage indices)
    weight: float  # what the whole weighs: the sum of its terms' IDF


@dataclass(frozen=True)
class _Expansion:
    """What a reader's word stands for: a glossary term ("capex" -> capital expenditure),
    or a Chinese word's English glosses (收入 -> income; revenue), the best one counting."""

    meanings: tuple[_Meaning, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(t for meaning in self.meanings for t in meaning.terms)

    @property
    def weight(self) -> float:
        return max(meaning.weight for meaning in self.meanings)

    def holds(self, article: int) -> bool:
        """Whether the article has one of the meanings whole."""
        return any(_holds(meaning.articles, article) for meaning in self.meanings)


@dataclass(frozen=True)
class _QueryTerm:
    term: str
    weight: float  # its IDF, or the maximum IDF for a word the index does not know
    credit: float  # 1 for an exact term, the typo credit for a corrected one, 0 for unknown
    synonyms: tuple[str, ...] = ()  # indexed terms of its synonyms, at the synonym credit
    expansion: _Expansion | None = None  # what the glossary says the word stands for
    # A Chinese word's articles whose (Chinese) headline has it, as first-passage indices:
    # their passages earn the headline credit for it.
    headline: np.ndarray | None = None


@dataclass
class _Reading:
    """A question as the matcher reads it: the reader's own words, and the glossary's
    terms standing beside some of them."""

    words: list[str] = field(default_factory=list)  # content words, in order
    corrected: set[str] = field(default_factory=set)  # words typo correction put there
    stands_for: dict[str, str] = field(default_factory=dict)  # word -> the glossary's term
    bare: list[str] = field(default_factory=list)  # terms of aliases with no content word
    unknown: set[str] = field(default_factory=set)  # words none of whose terms is indexed
    names: list[str] = field(default_factory=list)  # content words the reader capitalised
    text: str = ""  # the normalised question, typos corrected: what gets embedded
    chinese: bool = False  # read through the Chinese-English dictionary

    @property
    def text_words(self) -> list[str]:
        """The words the fuzzy rerank compares with a passage's: the glossary's terms in
        place of the words the index does not know that stand for them."""
        found: list[str] = []
        for word in self.words:
            term = self.stands_for.get(word) if word in self.unknown else None
            found.extend(words(term) if term else [word])
        found.extend(w for term in self.bare for w in words(term))
        return list(dict.fromkeys(found))


class Matcher:
    """An index over passages that scores questions against them.

    Postings are numpy arrays so that scoring a question is a few vectorised additions
    over the passages that share its terms, whatever the corpus size; only a capped set
    of candidates goes through the (slower) fuzzy rerank.
    """

    def __init__(
        self,
        passages: Iterable[Passage],
        config: MatcherConfig | None = None,
        glossary: Glossary | None = None,
        thesaurus: Thesaurus | None = None,
        headlines: Mapping[str, str] | None = None,
    ) -> None:
        """`headlines`: each article's headline by article id (those in Chinese are read)."""
        self.config = config or MatcherConfig()
        self.glossary = glossary or Glossary()
        self.thesaurus = thesaurus if thesaurus is not None else bundled_thesaurus()
        # Derive the thesaurus' tables now (once per process, about 0.05 s: the bundled one
        # reads its stems from bot/data), while loading, rather than on the first question.
        self.thesaurus.prepare()
        self.passages: list[Passage] = list(passages)
        self._content: list[str] = []  # each passage's content words, for the fuzzy rerank
        # Each article's passages are contiguous: (first index, end index) per article.
        self._article_span: dict[str, tuple[int, int]] = {}
        postings: dict[str, list[int]] = defaultdict(list)
        surface_words: set[str] = set()
        capitalised: set[str] = set()  # words written capitalised, lowercased
        lowercase: set[str] = set()  # words written in lowercase somewhere
        article_of: list[int] = []  # each passage's article, as its first passage's index
        for index, passage in enumerate(self.passages):
            first, _ = self._article_span.get(passage.article_id, (index, index))
            self._article_span[passage.article_id] = (first, index + 1)
            article_of.append(first)
            passage_words = words(normalise(_indexed_text(passage)))
            # rapidfuzz 3 does no preprocessing by itself: do it once here, not per question.
            self._content.append(utils.default_process(" ".join(passage_words)))
            distinct = set(passage_words)
            surface_words.update(distinct)
            written = [word.lower() for word in _CAPITALISED_RE.findall(passage.text)]
            capitalised.update(written[passage.text[:1].isupper() :])
            lowercase.update(distinct.difference(written))
            # A word written both ways in this passage: more occurrences than capitals.
            lowercase.update(w for w in set(written) if passage_words.count(w) > written.count(w))
            for term in _terms_of(distinct):
                postings[term].append(index)
        count = len(self.passages)
        self._postings = {term: np.array(docs, dtype=np.int32) for term, docs in postings.items()}
        # BM25's IDF: always positive, rare terms weigh most.
        self._idf = {
            term: math.log(1 + (count - len(docs) + 0.5) / (len(docs) + 0.5))
            for term, docs in postings.items()
        }
        self._max_idf = max(self._idf.values(), default=1.0)
        # A name is a word the articles only ever write capitalised ("Cloud" is not one:
        # "cloud computing" is written too); a passage's first word is capitalised whatever
        # it is, so it does not count.
        name_terms = _terms_of(capitalised - lowercase) - _terms_of(lowercase)
        # The articles that mention each name, in any of their passages (as their first
        # passage's index, sorted): a passage need not repeat its article's setting
        # ("China") to answer a question that names it.
        articles = np.array(article_of, dtype=np.int32)
        self._article_of = articles
        self._is_core = np.array([p.number == 0 for p in self.passages], dtype=bool)
        self._expansions: dict[str, _Expansion | None] = {}
        self._articles_of_term: dict[str, np.ndarray] = {}
        self._name_articles = {
            term: np.unique(articles[self._postings[term]])
            for term in name_terms & self._postings.keys()
        }
        self._semantic = (
            SemanticIndex([p.text for p in self.passages]) if self.config.semantic_weight else None
        )
        self._headlines = _HeadlineIndex(
            (self._article_span[article_id], headline)
            for article_id, headline in (headlines or {}).items()
            if article_id in self._article_span
        )
        prepare_chinese()  # jieba's dictionary: 0.2 s here rather than on a reader's question
        glossary_words = {w for alias in self.glossary.aliases for w in alias.split()}
        self.speller = SpellingCorrector(
            chain(sorted(surface_words), sorted(glossary_words)),
            also_known=STOPWORDS,
            known_stems=self._idf,
            dictionary=self.thesaurus,
            vocabulary=None if self.config.real_word_guard else frozenset(),
        )

    @property
    def answer_threshold(self) -> float:
        return self.config.answer_threshold

    @property
    def suggest_threshold(self) -> float:
        return self.config.suggest_threshold

    def question_words(self, question: str) -> list[str]:
        """The question's content words after normalisation and typo correction, then the
        words of the glossary terms some of them stand for."""
        return self._read(question).text_words

    def _read(self, question: str) -> _Reading:
        """The question's content words, those typo correction put there, and the glossary
        terms some of them stand for (an alias adds its term beside the reader's word)."""
        text, corrected = normalise(question), set[str]()
        if self.config.typo_correction:
            text, corrected = self.speller.correct(text)
        chinese = CJK_RE.search(text) is not None
        if chinese:
            text = to_simplified(text)  # 騰訊資本開支 -> 腾讯资本开支: one spelling to look up
        reading = _Reading(corrected=corrected, text=text, chinese=chinese)
        for name in _reader_names(question):
            reading.names.extend(
                (self.config.typo_correction and self.speller.correction(word)) or word
                for word in words(normalise(name))
            )
        english: list[str] = []  # the question in English words, for its embedding
        for piece, term in self.glossary.segments(text):
            if term is None and chinese and self.config.chinese_dictionary and CJK_RE.search(piece):
                own = self._read_chinese(piece, reading, english)
            else:
                own = words(piece)
                english.extend(words(term) if term and CJK_RE.search(piece) else own)
            reading.words.extend(own)
            if term is None:
                continue
            if not own:  # "what is it about" -> core viewpoint: the term stands alone
                reading.bare.append(term)
            for word in own:
                reading.stands_for.setdefault(word, term)
        if chinese:
            reading.text = " ".join(english)
        reading.unknown = {
            w for w in reading.words if not any(t in self._idf for t in word_terms(w))
        }
        return reading

    def _read_chinese(self, piece: str, reading: _Reading, english: list[str]) -> list[str]:
        """A piece of Chinese cut into words (jieba), each standing for its English glosses
        (CC-CEDICT): the passages are English, so 收入 is looked for as income or revenue."""
        found = []
        for word in dictionary_words(segment(piece)):
            if not CJK_RE.search(word):
                latin = words(word.lower())
                found.extend(latin)
                english.extend(latin)
                continue
            if not CHINESE_STOP_RE.sub("", word):  # function words only: 这篇文章, 什么
                continue
            if len(word) == 1 and self.config.skip_single_characters:
                continue
            # Glosses keep CC-CEDICT's capitals (Taobao, China): normalised like a question.
            meanings = [normalise(gloss) for gloss in word_glosses(word)]
            found.append(word)
            if meanings:
                reading.stands_for.setdefault(word, "; ".join(meanings))
                english.extend(
                    w for gloss in meanings[: self.config.glosses_embedded] for w in words(gloss)
                )
        return found

    def search(
        self,
        question: str,
        article_id: str | None = None,
        limit: int = 3,
        prefer_article: str | None = None,
    ) -> list[ScoredPassage]:
        """The best `limit` passages for the question, best first, scores in [0, 1].

        `article_id` keeps only that article's passages; `prefer_article` makes sure the
        best of that article's passages are reranked even when many others score alike.
        """
        reading = self._read(question)
        return self._rank(reading, self._query_terms(reading), article_id, limit, prefer_article)

    def _rank(
        self,
        reading: _Reading,
        query: list[_QueryTerm],
        article_id: str | None,
        limit: int,
        prefer_article: str | None,
        bar: float = 0.0,
        within: float | None = None,
    ) -> list[ScoredPassage]:
        """`search` for an already read question; passages that would score below `bar`
        may be left out. With `within`, every passage that may score within that much of
        the best is kept as well, beyond the `limit` best."""
        total_weight = sum(q.weight for q in query)
        if not total_weight or not self.passages:
            return []
        coverage = np.zeros(len(self.passages), dtype=np.float64)
        for q in query:
            if q.synonyms or q.expansion or q.headline is not None:
                # A passage earns the best of the word's credit, a synonym's, that of the
                # glossary term it stands for and its article's headline's, once.
                credit = np.zeros(len(self.passages), dtype=np.float64)
                for synonym in q.synonyms:
                    credit[self._postings[synonym]] = self.config.synonym_credit
                if q.credit:
                    credit[self._postings[q.term]] = q.credit
                if q.expansion is not None:
                    expanded = self.config.expansion_credit * self._expansion_credit(q.expansion)
                    np.maximum(credit, expanded, out=credit)
                if q.headline is not None:
                    for first, end in self._headlines.spans(q.headline):
                        np.maximum(credit[first:end], self.config.headline_credit,
                                   out=credit[first:end])  # fmt: skip
                coverage += q.weight * credit
            elif q.credit:
                # A term's postings hold each passage once, so plain fancy-index += is exact.
                coverage[self._postings[q.term]] += q.weight * q.credit
        meaning = self._meaning(reading)
        semantic = self._semantic if meaning is not None else None
        if article_id is not None:
            first, end = self._article_span.get(article_id, (0, 0))
            candidates = first + top_indices(coverage[first:end], self.config.rerank_candidates)
            if semantic is not None and meaning is not None and end > first:
                near = semantic.nearest(meaning, self.config.semantic_candidates, first, end)
                candidates = np.union1d(candidates, near)
        else:
            # Only passages with some coverage can be candidates: partitioning just those
            # (not every passage's zero) was a third of a question's time at 10,000 articles.
            touched = np.flatnonzero(coverage)
            candidates = touched[top_indices(coverage[touched], self.config.rerank_candidates)]
            if semantic is not None and meaning is not None:
                # A paraphrase may share no word with its passage: the passages nearest in
                # meaning are candidates too.
                near = semantic.nearest(meaning, self.config.semantic_candidates)
                candidates = np.union1d(candidates, near)
            if prefer_article in self._article_span:
                first, end = self._article_span[prefer_article]
                preferred = first + top_indices(coverage[first:end], 3)
                candidates = np.union1d(candidates, preferred)
        question_text = utils.default_process(" ".join(reading.text_words))
        config = self.config
        shares = coverage[candidates] / total_weight
        cosines = (
            semantic.cosines(meaning, candidates).astype(np.float64)
            if semantic is not None and meaning is not None
            else None
        )
        # A candidate with none of the question's words and a meaning under the floor is
        # nothing like it.
        alike = shares > 0
        if cosines is not None:
            alike |= cosines >= config.semantic_floor
        candidates, shares = candidates[alike], shares[alike]
        cosines = cosines[alike] if cosines is not None else None
        # The fuzzy ratios are the costly part: each candidate's score is bounded first
        # (ratios of 0 and of 100), and one whose bound cannot reach the caller's bar, nor
        # the `limit` best, is not worth them.
        core = self._is_core[candidates]
        lexical = config.coverage_weight * shares
        lows = np.sort(_finals(lexical, cosines, core, config))[::-1]
        fuzzy_most = config.token_set_weight + config.partial_weight
        highs = _finals(lexical + fuzzy_most, cosines, core, config)
        # Among the `limit` best a bullet may still move above its core viewpoint (within
        # the specific margin), so every cut leaves room for it.
        margin = config.specific_margin
        top_cut = float(lows[limit - 1]) - margin if len(lows) >= limit else 0.0
        if within is not None and len(lows):
            top_cut = min(top_cut, float(lows[0]) - within)
        cut = max(bar, top_cut) - 1e-4
        # Best bound first, so that the scores found so far tighten the cut: once a
        # candidate's bound can reach neither the `limit` best scores nor (with `within`)
        # the best's neighbourhood, no later candidate can either. Plain floats from here:
        # arithmetic and round() on numpy scalars cost several times more.
        order = np.argsort(-highs, kind="stable")
        kept = list(
            zip(
                candidates[order].tolist(),
                shares[order].tolist(),
                cosines[order].tolist() if cosines is not None else [None] * len(order),
                highs[order].tolist(),
                strict=True,
            )
        )
        scored: list[ScoredPassage] = []
        found: list[float] = []  # the scores so far, ascending
        unscored = []
        for position, (index, share, cosine, high) in enumerate(kept):
            needed = cut
            if len(found) >= limit:
                reach = found[-limit] - margin
                if within is not None:
                    reach = min(reach, found[-1] - within)
                needed = max(cut, reach - 1e-4)
            if high < needed:
                unscored.extend(kept[position:])
                break
            passage = self.passages[index]
            content = self._content[index]
            if within is None:
                score = blend(share, question_text, content, passage, cosine, config)
            else:
                # A decision needs no score that stays under what it reads.
                is_core = passage.number == 0
                reached = _blend_reaching(
                    share, question_text, content, is_core, cosine, config, needed
                )
                if reached is None:
                    unscored.append(kept[position])
                    continue
                score = reached
            scored.append(ScoredPassage(passage, score))
            insort(found, score)
        # A bullet that may score within the specific margin of its article's core
        # viewpoint moves the core below it, even from under the cut: scored too.
        cores = {s.passage.article_id: s.score for s in scored if s.passage.number == 0}
        for index, share, cosine, high in unscored if cores else ():
            passage = self.passages[index]
            core_score = cores.get(passage.article_id)
            if passage.number and core_score is not None and high >= core_score - margin - 1e-4:
                content = self._content[index]
                score = blend(share, question_text, content, passage, cosine, config)
                scored.append(ScoredPassage(passage, score))
        scored.sort(key=lambda s: (-s.score, s.passage.article_id, s.passage.number))
        ranked = _specific_first(scored, self.config.specific_margin)
        return ranked if within is not None else ranked[:limit]

    def _meaning(self, reading: _Reading) -> np.ndarray | None:
        """The question's unit vector (None: meaning is off, or no word of it is known)."""
        if self._semantic is None or not self.config.semantic_weight:
            return None
        vector = self._semantic.embed(reading.text)
        return vector if vector.any() else None

    def match(
        self, question: str, article_id: str | None = None, prefer_article: str | None = None
    ) -> MatchResult:
        """Decide between answering, suggesting up to 3 candidates, and admitting ignorance.

        `article_id` scopes the question to one article; `prefer_article` (the conversation's
        current article) wins ties. Alike scores from different articles are suggested.
        """
        reading = self._read(question)
        query = self._query_terms(reading)
        # What the decision reads: the three best (the suggestions), every passage within
        # the tie margin of the best (alike passages of other articles) and the runner-up
        # when within the lead margin (a lead answers); a passage that cannot be any of
        # these is never put through the fuzzy ratios (a third of a question's time).
        config = self.config
        ranked = self._rank(
            reading,
            query,
            article_id,
            3,
            prefer_article,
            config.suggest_threshold,
            within=max(config.tie_margin, config.lead_margin) + 1e-3,
        )
        plausible = [s for s in ranked if s.score >= self.config.suggest_threshold]
        if not plausible:
            return MatchResult(Outcome.UNANSWERED, ())
        top = plausible[0].score
        tied = [s for s in plausible if top - s.score <= self.config.tie_margin]
        if prefer_article is not None:
            # A stable sort: the current article's passages first among the tied ones.
            tied.sort(key=lambda s: s.passage.article_id != prefer_article)
            plausible = tied + plausible[len(tied) :]
        best = plausible[0]
        rivals = {s.passage.article_id for s in tied} - {best.passage.article_id}
        ambiguous = bool(rivals) and best.passage.article_id != prefer_article
        sure = (
            self._scores_enough(best, ranked, reading)
            and (not self.config.names_must_appear or self._mentions_names(best, query, reading))
            and (
                not self.config.facts_must_appear
                or self._says_the_fact(question, reading, best.passage)
            )
        )
        if sure and not ambiguous:
            return MatchResult(Outcome.ANSWERED, tuple(plausible[:3]))
        if ambiguous:
            plausible = _one_per_article(tied)
        return MatchResult(Outcome.SUGGESTED, tuple(plausible[:3]))

    def answering(self, question: str, article_ids: Iterable[str]) -> list[ScoredPassage]:
        """Every passage of those articles that answers the question by the answer bar (the
        bar, names and facts rules of `match`), best first: what a followed topic pushes.

        The question is read once and each article scored on its own span of the index
        (no index is built), so running many topics against a new article costs a scoped
        search each. Unlike `match`, alike passages are all kept: a topic is pushed every
        passage that answers it, not asked to choose."""
        reading = self._read(question)
        query = self._query_terms(reading)
        bar = self._answer_bar(reading)
        found: list[ScoredPassage] = []
        for article_id in dict.fromkeys(article_ids):
            first, end = self._article_span.get(article_id, (0, 0))
            if end <= first:
                continue
            for scored in self._rank(reading, query, article_id, end - first, None, bar):
                if scored.score < bar:
                    continue
                if self.config.names_must_appear and not self._mentions_names(
                    scored, query, reading
                ):
                    continue
                if self.config.facts_must_appear and not self._says_the_fact(
                    question, reading, scored.passage
                ):
                    continue
                found.append(scored)
        found.sort(key=lambda s: (-s.score, s.passage.article_id, s.passage.number))
        return found

    def _scores_enough(
        self, best: ScoredPassage, ranked: list[ScoredPassage], reading: _Reading
    ) -> bool:
        """Whether the best passage scores enough to answer: the answer bar, or a lower bar
        when it leads every other passage, and the suggest bar, by `lead_margin` (a passage
        left out of `ranked` scored under the suggest bar)."""
        bar = self._answer_bar(reading)
        if best.score >= bar:
            return True
        if not self.config.answer_on_lead:
            return False
        others = [s.score for s in ranked if s.passage is not best.passage]
        runner_up = max([*others, self.config.suggest_threshold])
        return (
            best.score >= bar - self.config.lead_discount
            and best.score - runner_up >= self.config.lead_margin
        )

    def _answer_bar(self, reading: _Reading) -> float:
        """The score that answers: lower for a question read through the dictionary, whose
        glosses rarely cover every word of it as a passage in its own language would."""
        if reading.chinese and self.config.chinese_dictionary:
            return self.config.answer_threshold - self.config.chinese_bar_offset
        return self.config.answer_threshold

    def _says_the_fact(self, question: str, reading: _Reading, passage: Passage) -> bool:
        """The facts rule: the kind of fact asked (`_has_the_fact_asked`), and what it is a
        fact about (`_names_the_thing_asked`)."""
        return _has_the_fact_asked(question, passage) and (
            not self.config.thing_asked_must_appear
            or self._names_the_thing_asked(question, reading, passage)
        )

    def _names_the_thing_asked(self, question: str, reading: _Reading, passage: Passage) -> bool:
        """Whether the passage names what the question asks the amount or value of.

        "How many followers does Luo Yonghao have?" is not answered by a passage on Luo
        Yonghao's sales, nor "What was Hesai's revenue?" by one on Hesai's shipments,
        however much else each shares with the question: a passage says an amount of what
        it names. Its own word counts (typo corrected), a synonym, or the glossary's term.
        """
        things = _things_asked(question)
        if not things:
            return True
        have = _terms_in(_indexed_text(passage))
        for word in things:
            word = self.speller.correction(word) or word
            if word in _GENERIC_THINGS:  # "peple", corrected
                continue
            terms = word_terms(word)
            if any(t in have for t in terms):
                continue
            if any(s in have for t in terms for s in self.thesaurus.term_synonyms.get(t, ())):
                continue
            # The glossary's term, by its head (English compounds end in it): "LLM" stands
            # for "AI models", named as "large models".
            term_words = words(reading.stands_for.get(word, ""))
            if term_words and any(t in have for t in word_terms(term_words[-1])):
                continue
            return False
        return True

    def _mentions_names(
        self, scored: ScoredPassage, query: list[_QueryTerm], reading: _Reading
    ) -> bool:
        """Whether the passage's article mentions every name the question asks about.

        An answer about Alibaba to a question about ByteDance would be confidently wrong,
        however many other words the two share. Names are the words the articles only write
        capitalised, and the words the reader capitalised ("France", "TSMC", "Hong Kong").
        A name the glossary put beside a reader's word ("Aliyun" -> Alibaba Cloud) counts
        when the article has the whole term.
        """
        article = self._article_span[scored.passage.article_id][0]
        for word in reading.names:
            expansion = self._expansion(reading.stands_for.get(word, ""))
            if not any(_holds(self._term_articles(t), article) for t in word_terms(word)) and not (
                expansion is not None and expansion.holds(article)
            ):
                return False
        for q in query:
            own = bool(q.credit) and q.term in self._name_articles
            names = q.expansion
            if names is not None and not any(t in self._name_articles for t in names.terms):
                names = None  # the glossary's term for the word is no name
            if not (own or names):
                continue
            mentioned = own and any(
                _holds(self._name_articles.get(t), article) for t in (q.term, *q.synonyms)
            )
            if not mentioned and not (names is not None and names.holds(article)):
                return False
        return True

    def _term_articles(self, term: str) -> np.ndarray | None:
        """The articles (first-passage indices, sorted) with a passage that has `term`."""
        return self._indexed_term_articles(term) if term in self._postings else None

    def _indexed_term_articles(self, term: str) -> np.ndarray:
        """`_term_articles` of a term some passage has."""
        if term not in self._articles_of_term:
            self._articles_of_term[term] = np.unique(self._article_of[self._postings[term]])
        return self._articles_of_term[term]

    def _expansion(self, term: str) -> _Expansion | None:
        """The index's view of what a word stands for: a glossary term, or "; "-separated
        alternatives (a Chinese word's glosses). None when no passage has any of it."""
        if term not in self._expansions:
            meanings = []
            for alternative in term.split("; "):
                found = sorted(
                    {t for w in words(alternative) for t in word_terms(w) if t in self._idf}
                )
                if not found:
                    continue
                total = sum(self._idf[t] for t in found)
                articles = self._indexed_term_articles(found[0])
                for t in found[1:]:
                    articles = np.intersect1d(articles, self._indexed_term_articles(t))
                shares = tuple(self._idf[t] / total for t in found)
                meanings.append(_Meaning(tuple(found), shares, articles, total))
            self._expansions[term] = _Expansion(tuple(meanings)) if meanings else None
        return self._expansions[term]

    def _expansion_credit(self, expansion: _Expansion) -> np.ndarray:
        """Each passage's best share of one meaning's words, in the articles that have that
        meaning whole."""
        best = np.zeros(len(self.passages), dtype=np.float64)
        for meaning in expansion.meanings:
            share = np.zeros(len(self.passages), dtype=np.float64)
            for term, weight in zip(meaning.terms, meaning.shares, strict=True):
                share[self._postings[term]] += weight
            having = np.flatnonzero(share)
            elsewhere = ~np.isin(self._article_of[having], meaning.articles)
            share[having[elsewhere]] = 0.0
            np.maximum(best, share, out=best)
        return best

    def _headline_articles(self, word: str) -> np.ndarray | None:
        """The articles whose Chinese headline has this Chinese word of a question (None for
        any other word, or when the credit is off)."""
        if not self.config.headline_credit or len(word) < 2 or not CJK_RE.match(word):
            return None
        return self._headlines.having(word)

    def _indexed_synonyms(self, term: str) -> tuple[str, ...]:
        """The terms of `term`'s synonyms that some passage has."""
        return tuple(t for t in self.thesaurus.term_synonyms.get(term, ()) if t in self._idf)

    def _query_terms(self, reading: _Reading) -> list[_QueryTerm]:
        """The question's distinct terms with their weights.

        A word the spelling corrector put in earns the typo credit; a word none of whose terms
        is indexed counts once, at a share of the maximum IDF, against every passage unless
        a passage has the glossary term it stands for. A reader's word keeps its own
        weight: the glossary only adds another way to earn its credit.
        """
        query: dict[str, _QueryTerm] = {}
        for word in reading.words:
            credit = self.config.typo_credit if word in reading.corrected else 1.0
            term_of_glossary = reading.stands_for.get(word)
            expansion = self._expansion(term_of_glossary) if term_of_glossary else None
            known = [t for t in word_terms(word) if t in self._idf]
            for term in known:
                synonyms = self._indexed_synonyms(term)
                query.setdefault(
                    term, _QueryTerm(term, self._idf[term], credit, synonyms, expansion)
                )
            headline = self._headline_articles(word)
            if not known and expansion is not None:
                # The index does not know the reader's word ("capex", "阿里云"), the glossary
                # does: it weighs what its term weighs, as one unit however many bigrams.
                query.setdefault(
                    word, _QueryTerm(word, expansion.weight, 0.0, (), expansion, headline)
                )
            elif not known:
                synonyms = tuple(t for w in word_terms(word) for t in self._indexed_synonyms(w))
                weight = self.config.unknown_weight * self._max_idf
                query.setdefault(word, _QueryTerm(word, weight, 0.0, synonyms, None, headline))
        for term_of_glossary in reading.bare:
            expansion = self._expansion(term_of_glossary)
            if expansion is None:
                continue
            for term in expansion.terms:
                query.setdefault(term, _QueryTerm(term, self._idf[term], 0.0, (), expansion))
        return list(query.values())


class _HeadlineIndex:
    """The articles' Chinese headlines, found by the words in them.

    A digest's headline is the article's own Chinese (外卖大战升级…)
    while its passages are English: a Chinese question's word that the dictionary glosses
    poorly or not at all (a name such as 美团 or 宁德时代, an abbreviation such as 国补) is
    still found, as written, in the headline of the article it is about. A word is looked
    for as a substring (the headline and the question may be segmented differently) among
    the headlines that have all its character bigrams.
    """

    def __init__(self, headlines: Iterable[tuple[tuple[int, int], str]]) -> None:
        self._spans: list[tuple[int, int]] = []  # each headline's article: passage span
        self._texts: list[str] = []  # in Simplified characters
        self._by_bigram: dict[str, list[int]] = defaultdict(list)
        for span, headline in headlines:
            if not CJK_RE.search(headline):
                continue
            text = to_simplified(headline)
            number = len(self._texts)
            self._spans.append(span)
            self._texts.append(text)
            for bigram in {text[i : i + 2] for i in range(len(text) - 1)}:
                self._by_bigram[bigram].append(number)
        self._found: dict[str, np.ndarray | None] = {}

    def having(self, word: str) -> np.ndarray | None:
        """The headlines (numbers, sorted) that have `word`; None when none has it."""
        if word not in self._found:
            if len(self._found) > 10_000:  # questions are endless; their words repeat
                self._found.clear()
            lists: list[list[int]] = [
                self._by_bigram.get(word[i : i + 2], []) for i in range(len(word) - 1)
            ]
            candidates = set(lists[0]).intersection(*lists[1:]) if lists else set()
            found = sorted(n for n in candidates if word in self._texts[n])
            self._found[word] = np.array(found, dtype=np.int32) if found else None
        return self._found[word]

    def spans(self, numbers: np.ndarray) -> list[tuple[int, int]]:
        """The passage spans of these headlines' articles."""
        return [self._spans[n] for n in numbers.tolist()]


def blend(
    coverage: float,
    question_text: str,
    content: str,
    passage: Passage,
    meaning: float | None = None,
    config: MatcherConfig | None = None,
) -> float:
    """A candidate's final score in [0, 1]: its coverage share (of the question's term
    weight) blended with two fuzzy ratios of the processed question and passage texts, and
    (when given) raised towards the cosine of their meanings (see `_final`)."""
    core = passage.number == 0
    score = _blend_reaching(coverage, question_text, content, core, meaning, config, None)
    assert score is not None  # nothing to reach: always scored
    return score


def _blend_reaching(
    coverage: float,
    question_text: str,
    content: str,
    core: bool,
    meaning: float | None,
    config: MatcherConfig | None,
    needed: float | None,
) -> float | None:
    """`blend`, or None as soon as the score is sure to stay under `needed`: the partial
    ratio, the costlier of the two, is then never computed."""
    config = config or MatcherConfig()
    lexical = (
        config.coverage_weight * coverage
        + config.token_set_weight * fuzz.token_set_ratio(question_text, content) / 100
    )
    if (
        needed is not None
        and _final(lexical + config.partial_weight, meaning, core, config) < needed
    ):
        return None
    lexical += config.partial_weight * fuzz.partial_ratio(question_text, content) / 100
    return round(_final(lexical, meaning, core, config), 4)


def _final(lexical: float, meaning: float | None, core: bool, config: MatcherConfig) -> float:
    """The lexical score raised by the meaning's closeness, the core viewpoint scaled down.

    The cosine is mapped from [semantic_floor, semantic_ceiling] onto [0, 1]. Meaning can
    only raise a score: a passage that shares the reader's words keeps what they earn
    (names, numbers and typos are where static embeddings are weak), and a paraphrase that
    shares few of them is lifted by what it means. Grows with `lexical`, so bounds on the
    lexical part bound the score.
    """
    score = lexical
    if meaning is not None:
        closeness = (meaning - config.semantic_floor) / (
            config.semantic_ceiling - config.semantic_floor
        )
        weight = config.semantic_weight
        mixed = (1 - weight) * score + weight * min(max(closeness, 0.0), 1.0)
        score = max(score, mixed)
    if core:
        score *= config.core_viewpoint_factor
    return min(score, 1.0)


def _finals(
    lexical: np.ndarray, meaning: np.ndarray | None, core: np.ndarray, config: MatcherConfig
) -> np.ndarray:
    """`_final` of many candidates at once (the same arithmetic, elementwise)."""
    score = lexical
    if meaning is not None:
        closeness = (meaning - config.semantic_floor) / (
            config.semantic_ceiling - config.semantic_floor
        )
        weight = config.semantic_weight
        mixed = (1 - weight) * score + weight * np.clip(closeness, 0.0, 1.0)
        score = np.maximum(score, mixed)
    score = np.where(core, score * config.core_viewpoint_factor, score)
    return np.minimum(score, 1.0)


def _reader_names(question: str) -> list[str]:
    """The words a reader capitalised, but for the first (every question starts with a
    capital) and but when most are (Title Case Says Nothing About Names)."""
    tokens = _TOKEN_RE.findall(question)
    # Two characters say too little ("AI", "Q1", "OK"): names have three or more.
    capitalised = [t for t in tokens[1:] if not t.islower() and len(t) > 2 and not t.isdigit()]
    if len(capitalised) * 2 > len(tokens):
        return []
    return capitalised


@dataclass(frozen=True)
class _FactsAsked:
    """What a question asks for that a passage must hold to answer it (`_facts_asked`)."""

    how_much: bool = False  # a number, and never from a core viewpoint
    money: bool = False  # an amount of money
    when: bool = False  # a date
    held: tuple[re.Pattern[str], ...] = ()  # _FACTS_ASKED's passage patterns it needs


@lru_cache(maxsize=256)
def _facts_asked(question: str) -> _FactsAsked:
    """The question read once for `_has_the_fact_asked`, however many passages it is
    checked against (a followed topic meets every passage of a new article)."""
    lowered = normalise(question)
    if CJK_RE.search(lowered):
        lowered = to_simplified(lowered)  # 幾歲, 創始人: one spelling to look for
    how_much = _HOW_MUCH_RE.search(lowered) is not None
    return _FactsAsked(
        how_much=how_much,
        money=how_much and _MONEY_ASKED_RE.search(lowered) is not None,
        when=_WHEN_RE.search(lowered) is not None,
        held=tuple(held for asked, held in _FACTS_ASKED if asked.search(lowered)),
    )


def _has_the_fact_asked(question: str, passage: Passage) -> bool:
    """A question asking how much or when is answered only by a passage holding a number
    or a date: "how many employees does Huawei have" is not answered by a passage about
    Huawei's strategy, however many words the two share; one asking what something costs
    or pays, only by a passage holding an amount of money; one asking an age, a founder or
    chief, a headquarters, a dividend or a share price, only by a passage that says one
    (`_FACTS_ASKED`); how much or how many, never by a core viewpoint."""
    asked = _facts_asked(question)
    text = passage.text.lower()
    if asked.how_much:
        # A core viewpoint sums its article up: the figure asked for is in a bullet (it won
        # such questions only by naming the article's subject, wrongly each time measured).
        if passage.number == 0 or not _NUMBER_RE.search(text):
            return False
        if asked.money and not _MONEY_RE.search(text):
            return False
    if asked.when and not _DATE_RE.search(text):
        return False
    return all(held.search(text) for held in asked.held)


@lru_cache(maxsize=256)
def _things_asked(question: str) -> tuple[str, ...]:
    """The content words a question asks the amount or value of: each phrase's last word."""
    lowered = unicodedata.normalize("NFKC", question).lower().replace("\u2019", "'")
    matches = (
        _HOW_MANY_PHRASE_RE.search(lowered) or _HOW_MANY_WORD_RE.search(lowered),
        _POSSESSIVE_THING_RE.search(lowered),
        _THING_OF_RE.search(lowered),
    )
    found = [m.group(1).split()[-1] for m in matches if m]
    return tuple(
        dict.fromkeys(
            w for w in found if len(w) > 2 and w not in STOPWORDS and w not in _GENERIC_THINGS
        )
    )


def _indexed_text(passage: Passage) -> str:
    """The text a passage is indexed by: a core viewpoint's with its section's name, so
    that "summary", "main point" and the like (which the glossary maps to that name) reach
    it."""
    return f"{CORE_VIEWPOINT} {passage.text}" if passage.number == 0 else passage.text


@lru_cache(maxsize=1024)
def _terms_in(text: str) -> frozenset[str]:
    """The index terms of a passage's words."""
    return frozenset(t for w in words(normalise(text)) for t in word_terms(w))


def _specific_first(ranked: list[ScoredPassage], margin: float) -> list[ScoredPassage]:
    """The ranking with each core viewpoint moved below the best bullet of its own article
    that scores within `margin` of it: the bullet says the same thing specifically, with
    the figures, and a reader asking about the article as a whole still gets the core
    viewpoint, which then scores far above any one bullet."""
    out = list(ranked)
    for core in [s for s in ranked if s.passage.number == 0]:
        rival = next(
            (
                s
                for s in out
                if s.passage.article_id == core.passage.article_id
                and s.passage.number != 0
                and s.score >= core.score - margin
            ),
            None,
        )
        if rival is not None and out.index(rival) > out.index(core):
            out.remove(core)
            out.insert(out.index(rival) + 1, core)
    return out


def _holds(sorted_values: np.ndarray | None, value: int) -> bool:
    """Whether a sorted array (or None, for none) holds the value."""
    if sorted_values is None:
        return False
    found = int(np.searchsorted(sorted_values, value))
    return found < len(sorted_values) and int(sorted_values[found]) == value


def _terms_of(surface_words: Iterable[str]) -> set[str]:
    """The index terms of some words."""
    return set(chain.from_iterable(map(word_terms, surface_words)))


def _one_per_article(ranked: list[ScoredPassage]) -> list[ScoredPassage]:
    """The best passage of each article, in rank order, so the reader chooses the article."""
    seen: set[str] = set()
    best = []
    for scored in ranked:
        if scored.passage.article_id not in seen:
            seen.add(scored.passage.article_id)
            best.append(scored)
    return best
