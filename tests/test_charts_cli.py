"""Charts through the real command line: `ask --json` lists the pictures' paths, `chat` prints
them, and a picture is drawn once, then served from the cache folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_cli import run


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ask_json_adds_the_pictures_and_keeps_every_other_field(tmp_path):
    questions = ["salry?", "what are the career levels", "how do I become a pilot"]
    done = run(["ask", "--json"], "\n".join(questions) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    salary, ladder, pilot = [json.loads(line) for line in done.stdout.splitlines()]
    assert salary["intent"] == "pay_median" and "$101,340" in salary["text"]
    assert salary["buttons"] and salary["sources"] and isinstance(salary["score"], float)
    [medians] = [Path(p) for p in salary["images"]]
    [career] = [Path(p) for p in ladder["images"]]
    assert is_png(medians) and is_png(career) and medians != career
    assert medians.parent == tmp_path / "charts"  # beside the database (CAREERBOT_DB)
    assert "Show as picture" in salary["buttons"] and "Show as picture" in ladder["buttons"]
    assert pilot["images"] == [] and "Show as picture" not in pilot["buttons"]
    drawn_at = medians.stat().st_mtime_ns
    again = run(["ask", "--json", "salary?"], tmp_path=tmp_path)
    assert json.loads(again.stdout)["images"] == [str(medians)]
    assert medians.stat().st_mtime_ns == drawn_at, "a cached picture is not drawn again"


def test_chat_writes_the_png_and_prints_its_path_and_the_button_shows_it(tmp_path):
    done = run(["chat"], "nursing home administrator license\n", tmp_path)
    assert done.returncode == 0, done.stderr
    [path] = re.findall(r"\[picture\] (\S+\.png)", done.stdout)
    assert is_png(Path(path)) and "nha_road" in path
    assert "a state-approved training program" in done.stdout  # the text answer is all there
    number = re.search(r"\[(\d+)\] Show as picture", done.stdout)
    assert number is not None
    pressed = run(["chat"], f"nursing home administrator license\n{number.group(1)}\n", tmp_path)
    shown = re.findall(r"\[picture\] (\S+\.png)", pressed.stdout)
    assert shown == [path, path]  # the answer's picture, then the pressed one: the same file
    assert "Sources: BLS Occupational Outlook Handbook" in pressed.stdout


def test_a_chart_that_cannot_be_drawn_leaves_ask_its_text(tmp_path, monkeypatch, capsys, caplog):
    from bot.charts import draw
    from bot.cli import main

    def broken(*args: object) -> None:
        raise RuntimeError("render error")

    monkeypatch.setattr(draw, "render", broken)
    monkeypatch.setenv("CAREERBOT_DB", str(tmp_path / "x.db"))
    assert main(["ask", "--json", "salary?", "what is the median pay"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["images"] for r in rows] == [[], []]
    assert all("$101,340" in r["text"] and r["matched"] for r in rows)
    assert len([r for r in caplog.records if "pay_medians" in r.getMessage()]) == 1


def test_every_caption_fits_telegram_and_names_its_sources(kb):
    from bot.charts import caption, describe

    for chart_id, chart in kb.charts.items():
        text = caption(kb, chart_id)
        assert len(text) <= 1024 and text.startswith(chart.title), chart_id
        cited = kb.cite([v.source for v in chart.values])
        assert text.endswith("Sources: " + "; ".join(cited)), chart_id
        words = describe(kb, chart_id)
        assert all(v.label in words for v in chart.values), chart_id
