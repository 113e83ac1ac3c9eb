"""The command line. `python -m bot` runs as a subprocess where the process is the point
(UTF-8 output under an ASCII locale, stdin read line by line, answers flushed as they come);
the other commands run `bot.cli.main` in this process, with the same from-scratch
environment, working folder and exit code."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import ChatSession, chat
from bot.library import Library
from bot.matcher_config import MatcherConfig
from tests.conftest import SEED_ID, SEEDS, MainRunner, hermetic_environment

MATCH_KEYS = {"passage_id", "article_id", "headline", "section", "text", "citations", "score"}


def run_bot(
    *args: str, cwd: Path, stdin: str | bytes = b"", **env: str
) -> subprocess.CompletedProcess[bytes]:
    """`python -m bot ARGS` in a clean environment (no token, no .env) from `cwd`."""
    environment = hermetic_environment(
        **{"SEEDS_DIR": str(SEEDS), "PYTHONIOENCODING": "ascii", **env}
    )
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_ask_prints_a_cited_answer(tmp_path: Path) -> None:
    result = run_bot("ask", "How many customers does Alibaba Cloud serve?", cwd=tmp_path)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr
    assert "Historical Context and Cloud Computing" in out
    assert "4 million customers" in out
    assert "全球“All in AI” 中国科技巨头生态“攻守”" in out  # UTF-8 even with an ASCII locale
    assert "21st Century Business Herald · 2025-05-29 14:12 · paragraph 7" in out


def test_ask_json_shape(run_main: MainRunner, tmp_path: Path) -> None:
    result = run_main("ask", "--json", "Tencent", "capital", "expenditure", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 1
    answer = json.loads(lines[0])
    assert answer["question"] == "Tencent capital expenditure"
    assert answer["outcome"] == "answered"
    assert 1 <= len(answer["matches"]) <= 3
    best = answer["matches"][0]
    assert set(best) == MATCH_KEYS
    assert best["passage_id"] == f"{SEED_ID}#6"
    assert best["article_id"] == SEED_ID
    assert best["section"] == "Competitive Strategies of Major Players"
    assert best["citations"] == [12]
    assert 0.0 <= best["score"] <= 1.0
    scores = [m["score"] for m in answer["matches"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_json_stdin_one_line_out_per_line_in(run_main: MainRunner, tmp_path: Path) -> None:
    questions = [
        "Alibaba Cloud customers",
        "",
        "what's the weather in Paris",
        "阿里云 <b>&amp;",
        "  Huawei strategy  ",
    ]
    stdin = "\r\n".join(questions).encode("utf-8") + b"\n\xff\xfe broken bytes\n"
    result = run_main("ask", "--json", "-", cwd=tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[-1] == ""  # every line ends with a newline
    answers = [json.loads(line) for line in lines[:-1]]
    assert len(answers) == len(questions) + 1
    assert [a["question"] for a in answers[:5]] == questions
    assert answers[0]["outcome"] == "answered"
    assert answers[1] == {"question": "", "outcome": "unanswered", "matches": []}
    assert answers[2]["outcome"] == "unanswered"
    assert "阿里云" in lines[3]  # ensure_ascii=False: UTF-8, not \\u escapes
    assert answers[4]["matches"][0]["passage_id"] == f"{SEED_ID}#5"
    assert "broken bytes" in answers[5]["question"]


def test_ask_json_stdin_answers_each_line_before_the_next_arrives(tmp_path: Path) -> None:
    environment = hermetic_environment(SEEDS_DIR=str(SEEDS))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "-"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for question in ("Alibaba Cloud", "Huawei"):
            process.stdin.write(question.encode() + b"\n")
            process.stdin.flush()
            # readline() returning proves the line was flushed while stdin is still open.
            assert json.loads(process.stdout.readline())["question"] == question
    finally:
        process.stdin.close()
        assert process.wait(timeout=30) == 0


def test_ask_scoped_to_an_article(run_main: MainRunner, tmp_path: Path) -> None:
    ok = run_main("ask", "--json", "--article", SEED_ID, "Huawei", cwd=tmp_path)
    assert json.loads(ok.stdout)["matches"][0]["article_id"] == SEED_ID
    unknown = run_main("ask", "--article", "nope", "Huawei", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "nope" in unknown.stderr


def test_rejected_files_warn_on_stderr_and_answers_still_come(
    run_main: MainRunner, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "broken.txt").write_bytes(b"\xff\xfe not utf-8")
    result = run_main("ask", "--json", "Alibaba Cloud", cwd=tmp_path, SEEDS_DIR=str(seeds))
    assert result.returncode == 0
    assert json.loads(result.stdout)["outcome"] == "answered"
    assert "broken.txt:1: not UTF-8" in result.stderr


def test_check_lists_articles_and_exit_code(run_main: MainRunner, tmp_path: Path) -> None:
    good = run_main("check", cwd=tmp_path)
    out = good.stdout
    assert good.returncode == 0
    assert SEED_ID in out and "Market Dynamics and Challenges" in out
    assert "1 articles, 9 passages, 0 rejected" in out

    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "empty.md").write_text("\n\n", encoding="utf-8")
    bad = run_main("check", cwd=tmp_path, SEEDS_DIR=str(seeds))
    out = bad.stdout
    assert bad.returncode == 1
    assert "empty.md:1: empty file" in out
    assert SEED_ID in out  # the good file still loads


def test_run_without_token_says_how_and_exits_2(run_main: MainRunner, tmp_path: Path) -> None:
    for args in ((), ("run",)):
        result = run_main(*args, cwd=tmp_path)
        assert result.returncode == 2
        message = result.stderr.strip()
        assert len(message.splitlines()) == 1
        assert "TELEGRAM_BOT_TOKEN" in message and "chat" in message


def test_bad_setting_fails_at_start_with_one_line(run_main: MainRunner, tmp_path: Path) -> None:
    result = run_main("ask", "x", cwd=tmp_path, ADMIN_USER_IDS="12,bob")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: ADMIN_USER_IDS: 'bob' is not a numeric Telegram user id"
    ]


def test_env_file_in_working_directory_is_read(run_main: MainRunner, tmp_path: Path) -> None:
    question = "Tencent and Alibaba spending"  # answered at 0.79 by default
    assert json.loads(run_main("ask", "--json", question, cwd=tmp_path).stdout)["outcome"] == (
        "answered"
    )
    (tmp_path / ".env").write_text("MATCH_ANSWER_THRESHOLD=1.0\n", encoding="utf-8")
    result = run_main("ask", "--json", question, cwd=tmp_path)
    assert json.loads(result.stdout)["outcome"] == "suggested"


def test_chat_subprocess_conversation(tmp_path: Path) -> None:
    stdin = "/articles\nHuawei strategy\n/summary\n/help\n"
    result = run_bot("chat", cwd=tmp_path, stdin=stdin)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0  # end of input (Ctrl-D) leaves cleanly
    assert "1. 全球“All in AI”" in out
    assert "Competitive Strategies of Major Players" in out
    assert "Core Viewpoint" in out and "(paragraphs 2, 10)" in out
    assert "/summary" in out


def test_chat_session_keeps_current_article_and_suggestions(library: Library) -> None:
    session = ChatSession(library)
    assert "No article matches" in session.respond("/summary 7")
    assert session.respond("/summary 1").startswith("全球“All in AI”")
    assert session.current is not None and session.current.id == SEED_ID
    assert "Unknown command" in session.respond("/frobnicate")
    assert session.respond("") == ""


def test_chat_session_offers_suggestions_to_pick_by_number(library: Library) -> None:
    # A threshold no score reaches turns every plausible match into a suggestion.
    session = ChatSession(
        Library(library.articles, MatcherConfig(answer_threshold=1.01, answer_on_lead=False))
    )
    reply = session.respond("Tencent capital expenditure")
    assert "1. Competitive Strategies of Major Players" in reply
    assert "Type 1-" in reply
    picked = session.respond("1")
    assert "Tencent's recent capital expenditures" in picked
    assert "paragraph 12" in picked


@pytest.mark.parametrize("stdin", ["", "/quit\nAlibaba\n"])
def test_chat_leaves_on_eof_or_quit(library: Library, stdin: str) -> None:
    out = io.StringIO()
    assert chat(library, io.StringIO(stdin), out) == 0
    assert "Alibaba Cloud" not in out.getvalue()
