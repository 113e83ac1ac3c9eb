"""What a big article or a big library costs on the event loop: first question, first press.

    .venv/bin/python benchmarks/bench_content.py
    .venv/bin/python benchmarks/bench_content.py --root /tmp/base   # another checkout's bot/

The Telegram handlers run in one event loop: whatever they compute synchronously holds up
every other chat. This times, in-process and without Telegram, exactly the synchronous work
each handler path does (the same calls, in the same order), on fresh objects so that no
cache built by an earlier step helps:

* ``question``: ``library.ask`` + ``render_answer`` + the buttons' callback data
  (``pick_data``/``summary_data``), as ``handlers.ask.answer_question``;
* ``summary press``: the article by its button key + ``article_version`` + ``render_summary`` +
  ``split_message``, as ``handlers.buttons.show_summary`` on the first press;
* ``pick press``: the passage by its button key + ``passage_version``, as ``show_passage``;
* ``/summary N`` and ``/summary topic``: ``find_article`` + ``render_summary`` +
  ``split_message``;
* ``/articles``: ``render_article_list`` + ``split_message`` over the whole library;
* ``inline (empty)``: the first page of articles, each rendered and cut to one message.

Content: the largest article the default limits accept (ARTICLE_MAX_PASSAGES passages of
ARTICLE_MAX_PASSAGE_CHARS characters; 200 x 2,000 when the checkout has no such settings),
the issue's 1 MB one-line article (16,329 passages; the limits refuse it), and the seed
plus 1,000 synthetic articles from ``../shared/tools/make_corpus.py`` (skipped without it).
``load`` is ``load_library`` (parse, glossary, index), which the bot runs in a thread.
Each path's time is split into what runs on the event loop and what the checkout runs in
a thread (``split_message`` of a long reply, the empty inline query's page); each figure
is the median of ``--repeats`` fresh runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
WORDS = (
    "cloud revenue grew while capital expenditure on data centres rose sharply as the "
    "company expanded its model training clusters across several regions and markets"
).split()


def big_article(passages: int, chars: int) -> str:
    """A digest-format article of `passages` passages (core included) of ~`chars` each."""

    def text(seed: int) -> str:
        words, length, index = [], 0, seed
        while length < chars - 12:
            word = WORDS[index % len(WORDS)]
            words.append(word)
            length += len(word) + 1
            index += 7
        return " ".join(words)[: chars - 8].rstrip()

    groups, per_group = [], 20
    bullets = passages - 1
    for group in range(0, bullets, per_group):
        count = min(per_group, bullets - group)
        body = " - ".join(f"{text(group + i)} [{i + 1}]." for i in range(count))
        groups.append(f"Group {group // per_group + 1}: Section {group // per_group + 1} - {body}")
    line = f"Core Viewpoint - {text(0)} [1]. " + " ".join(groups)
    return f"{line}\nA very long article\nBench Source·2025-06-01 10:00\n"


def one_line_megabyte() -> str:
    """The issue's case: 1 MB on one line, 16,329 short bullets."""
    bullets = " - ".join(f"Point {i} about cloud capex [{i % 9 + 1}]." for i in range(16_328))
    return f"Core Viewpoint - Big. Group 1: All - {bullets}\nOne line\nX·2025-06-01 10:00\n"


class Clock:
    """Milliseconds spent on the event loop and in threads by one handler path."""

    def __init__(self, split_off_loop: bool, inline_off_loop: bool) -> None:
        self.split_off_loop = split_off_loop
        self.inline_off_loop = inline_off_loop
        self.loop = 0.0
        self.thread = 0.0

    def run(self, step: Callable[[], Any], in_thread: bool = False) -> Any:
        """Run `step`, adding its time to the thread's or the loop's account."""
        started = time.perf_counter()
        result = step()
        elapsed = (time.perf_counter() - started) * 1000
        if in_thread:
            self.thread += elapsed
        else:
            self.loop += elapsed
        return result


def measure(folder: Path, question: str, repeats: int, label: str) -> None:
    """Load `folder` and time each handler path's work, on the loop and in threads."""
    import handlers.common
    import handlers.inline
    from bot import callbacks
    from bot.config import load_settings
    from bot.library import load_library
    from bot.rendering import (
        HTML,
        render_answer,
        render_article_list,
        render_summary,
        split_message,
    )
    from handlers.inline import summary_message

    # Where this checkout runs the two heavy parts (the fixed one: in threads).
    split_off_loop = hasattr(handlers.common, "split_message_off_loop")
    inline_off_loop = hasattr(handlers.inline, "article_page")
    settings = load_settings({"SEEDS_DIR": str(folder)}, env_file=None)
    state: dict[str, Any] = {}

    def fresh() -> None:
        # A new Library and new Article objects, and empty caches: a first question, a
        # first press, as after a start or a reload.
        for name in ("passage_version", "article_version"):
            clear = getattr(getattr(callbacks, name), "cache_clear", None)
            if clear:
                clear()
        state["library"], state["loaded"] = load_library(settings)
        # The button tables are made with the content, in the same thread (bot.state).
        keys = getattr(callbacks, "ButtonKeys", None)
        state["keys"] = keys.of(state["library"].articles) if keys else None

    started = time.perf_counter()
    fresh()
    load_ms = (time.perf_counter() - started) * 1000
    library = state["library"]
    print(
        f"\n{label}: {len(library.articles)} articles, {library.passage_count} passages, "
        f"{len(state['loaded'].rejected)} rejected; load {load_ms:,.0f} ms (in a thread)"
    )
    for problem in state["loaded"].rejected:
        print(f"  rejected {str(problem)[-110:]}")
    if not library.articles:
        return

    def lib() -> Any:
        return state["library"]

    def biggest() -> Any:
        return max(lib().articles, key=lambda a: len(a.passages))

    def send(clock: Clock, text: str) -> None:
        clock.run(lambda: split_message(text), in_thread=clock.split_off_loop)

    def question_step(clock: Clock) -> None:
        def on_loop() -> str:
            answer = lib().ask(question)
            for match in answer.matches:
                callbacks.pick_data(match.passage, match.article)
                callbacks.summary_data(match.article)
            return render_answer(answer, HTML)

        send(clock, clock.run(on_loop))

    def summary_press(clock: Clock) -> None:
        def on_loop() -> str:
            article = biggest()
            key = callbacks.article_key(article)
            keys = state["keys"]
            found = lib().article(keys.article_id(key)) if keys else lib().article_by_key(key)
            callbacks.article_version(found)
            return render_summary(found, HTML)

        send(clock, clock.run(on_loop))

    def pick_press(clock: Clock) -> None:
        def on_loop() -> None:
            passage = biggest().passages[-1]
            key = callbacks.passage_key(passage)
            keys = state["keys"]
            match = lib().passage(keys.passage_id(key)) if keys else lib().passage_by_key(key)
            callbacks.passage_version(match.passage, match.article)

        clock.run(on_loop)

    def summary_number(clock: Clock) -> None:
        number = lib().articles.index(biggest()) + 1
        send(clock, clock.run(lambda: render_summary(lib().find_article(str(number)), HTML)))

    def summary_topic(clock: Clock) -> None:
        def on_loop() -> str:
            article = lib().find_article(question)
            return render_summary(article, HTML) if article else ""

        send(clock, clock.run(on_loop))

    def articles_command(clock: Clock) -> None:
        send(clock, clock.run(lambda: render_article_list(lib().articles, HTML)))

    def inline_empty(clock: Clock) -> None:
        def page() -> None:
            for number, article in enumerate(lib().articles[:50], 1):
                summary_message(article, number)

        clock.run(page, in_thread=clock.inline_off_loop)

    steps = [
        ("question", question_step),
        ("summary press", summary_press),
        ("pick press", pick_press),
        ("/summary N", summary_number),
        ("/summary topic", summary_topic),
        ("/articles", articles_command),
        ("inline (empty)", inline_empty),
    ]
    print(f"  {'first ...':<16} {'loop ms':>9} {'thread ms':>10}")
    for name, step in steps:
        loops, threads = [], []
        for _ in range(repeats):
            fresh()
            clock = Clock(split_off_loop, inline_off_loop)
            step(clock)
            loops.append(clock.loop)
            threads.append(clock.thread)
        loop, thread = statistics.median(loops), statistics.median(threads)
        print(f"  {name:<16} {loop:9.1f} {thread:10.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose bot/ to time")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--articles", type=int, default=1000, help="synthetic library size")
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from bot.config import Settings

    defaults = Settings()
    passages = getattr(defaults, "article_max_passages", 200)
    chars = getattr(defaults, "article_max_passage_chars", 2000)
    print(f"bot/ from {args.root.resolve()}; median of {args.repeats} fresh runs")
    with tempfile.TemporaryDirectory() as temp:
        big = Path(temp) / "big"
        big.mkdir()
        (big / "big.txt").write_text(big_article(passages, chars), encoding="utf-8")
        measure(
            big,
            "cloud revenue capital expenditure",
            args.repeats,
            f"max-size article ({passages} x {chars:,} chars)",
        )
        huge = Path(temp) / "huge"
        huge.mkdir()
        (huge / "huge.txt").write_text(one_line_megabyte(), encoding="utf-8")
        measure(huge, "Point 16000 about cloud capex", args.repeats, "1 MB one-line article")
        if MAKE_CORPUS.is_file():
            corpus = Path(temp) / "corpus"
            subprocess.run(
                [
                    sys.executable,
                    str(MAKE_CORPUS),
                    str(corpus),
                    "--articles",
                    str(args.articles),
                    "--seed",
                    "1",
                ],
                check=True,
                capture_output=True,
            )
            for path in (ROOT / "seeds").iterdir():
                shutil.copy(path, corpus / path.name)
            measure(
                corpus,
                "Alibaba Cloud customers",
                args.repeats,
                f"seed + {args.articles:,} synthetic articles",
            )
        else:
            print(f"\n(skipped the library of {args.articles:,}: no {MAKE_CORPUS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
