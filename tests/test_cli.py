"""The command line as outside tests drive it: `ask --json`, `chat`, `eval`, `check`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from botprocess import bare_env

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {
    "question",
    "matched",
    "intent",
    "score",
    "text",
    "buttons",
    "suggestions",
    "sources",
    "images",
}


def run(
    args: list[str], stdin: str = "", tmp_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = bare_env(tmp_path or Path.cwd())
    if tmp_path is not None:
        env["CAREERBOT_DB"] = str(tmp_path / "cli.db")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def test_ask_json_reads_stdin_one_object_per_line(tmp_path):
    questions = ["salry?", "how do I become a pilot", "", "fache vs cmm", "<b>what is an mha</b>"]
    done = run(["ask", "--json"], "\n".join(questions) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert all(set(r) == FIELDS for r in rows)
    salary, pilot, empty, compare, mha = rows
    assert salary["matched"] and salary["intent"] == "pay_median" and salary["sources"]
    assert "$101,340" in salary["text"] and "<b>" not in salary["text"]
    assert not pilot["matched"] and not pilot["sources"]
    assert not empty["matched"] and empty["text"]
    assert compare["matched"] and "FACHE" in compare["text"] and "CMM" in compare["text"]
    assert mha["intent"] == "degree_mha"
    assert all(isinstance(r["score"], float) for r in rows)


def test_ask_with_arguments_and_unsure_suggestions(tmp_path):
    done = run(["ask", "--json", "requirements?"], tmp_path=tmp_path)
    [row] = [json.loads(line) for line in done.stdout.splitlines()]
    assert not row["matched"] and 1 <= len(row["suggestions"]) <= 3
    assert row["suggestions"] == row["buttons"]


def test_chat_holds_a_conversation_with_numbered_buttons(tmp_path):
    script = "what is fache\nhow do I keep it?\n/certifications\n1\n/cancel\n"
    done = run(["chat"], script, tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "  [1] Which certification fits me?" in out
    assert "CEU" in out or "continuing education" in out.lower()
    assert "Which side of the work interests you most?" in out  # "1" pressed the first option
    assert "stopped the Certification finder" in out


def test_eval_prints_the_report(tmp_path):
    done = run(["eval", str(Path(__file__).parent / "data" / "labelled.yaml")], tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    for needle in ("top-1 accuracy", "out-of-scope rejection", "p99", "most confused"):
        assert needle in done.stdout


def test_check_and_bad_file_give_one_line_not_a_traceback(tmp_path):
    done = run(["check"], tmp_path=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("ok: ")
    missing = run(["eval", str(tmp_path / "nope.yaml")], tmp_path=tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("not sqlite " * 100)
    env_db = {"CAREERBOT_DB": str(db)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="hi\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=bare_env(tmp_path, **env_db),
        cwd=tmp_path,
    )
    assert done.returncode == 2  # a start-up fault, like a bad setting (docs/interface.md)
    assert str(db) in done.stderr and len(done.stderr.strip().splitlines()) == 1
