"""Charts as data: `check` keeps every picture in agreement with the answer it illustrates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main


def run_check(capsys: pytest.CaptureFixture[str], folder: Path) -> tuple[int, list[str]]:
    code = main(["check", str(folder)])
    return code, capsys.readouterr().out.strip().splitlines()


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``path``; return the (1-based) line it was on."""
    text = path.read_text()
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def test_shipped_charts_load_and_agree_with_their_entries(capsys, data_copy):
    code, out = run_check(capsys, data_copy)
    assert code == 0, out
    assert "5 charts" in out[0]


def test_a_number_that_disagrees_with_the_entry_fails_check(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    line = edit(path, "value: 83500", "value: 85300")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert out == [
        f"{path}:{line}: chart 'pay_levels' shows 85,300, "
        "which the answer of entry 'pay_range' does not state"
    ]


def test_a_year_or_a_number_in_a_label_must_be_in_the_text_too(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    year = edit(
        path,
        "year: 2021\n        reference: true\n        source: become_guide\n    note",
        "year: 2022\n        reference: true\n        source: become_guide\n    note",
    )
    label = edit(path, "label: Delaware", "label: Delaware (top 3)")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert (
        f"{path}:{year}: chart 'pay_levels' shows 2,022, which the answer of entry "
        "'pay_range' does not state" in out
    )
    assert any(o.startswith(f"{path}:{label}: chart 'pay_states' shows 3") for o in out), out


def test_a_changed_entry_makes_its_chart_fail(capsys, data_copy):
    """The curator edits the text, not the chart: the picture must follow."""
    pay = data_copy / "knowledge" / "pay.yaml"
    edit(pay, "• Rhode Island: $115,104", "• Rhode Island: $116,000")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    charts = data_copy / "knowledge" / "charts.yaml"
    line = [n for n, t in enumerate(charts.read_text().splitlines(), 1) if "115104" in t][-1]
    assert (
        f"{charts}:{line}: chart 'pay_states' shows 115,104, which the answer of entry "
        "'pay_states' does not state" in out
    )


def test_a_step_or_tier_description_not_in_the_text_fails(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    line = edit(
        path, "quote: a pass on a national licensing exam", "quote: a pass on two national exams"
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert out == [
        f"{path}:{line}: chart 'nha_road': 'a pass on two national exams' is not in the answer "
        "of entry 'license_nha'"
    ]


def test_sources_must_exist_and_be_the_entrys_own(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    unknown = edit(path, "source: zippia", "source: wikipedia")
    foreign = edit(
        path,
        "        value: 83500\n        source: jobicy",
        "        value: 83500\n        source: zippia",
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert f"{path}:{unknown}: source 'wikipedia' is not in sources.yaml" in out
    assert (
        f"{path}:{foreign + 1}: chart 'pay_levels' cites 'zippia', which entry "
        "'pay_range' does not" in out
    )


def test_a_value_of_the_wrong_shape_is_located(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    tier = edit(path, "- label: Director of Healthcare", "- label: Director of Healthcare")
    edit(path, "        low: 15\n", "        value: 15\n")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert len(out) == 1
    assert re.match(rf"{re.escape(str(path))}:{tier}: .*a ladder tier needs low", out[0]), out


def test_a_dangling_entry_is_located(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    line = edit(path, "entries: [license_nha]", "entries: [license_nha, no_such_entry]")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert out == [f"{path}:{line}: entry 'no_such_entry' does not exist"]


def test_an_entry_has_at_most_one_chart(capsys, data_copy):
    path = data_copy / "knowledge" / "charts.yaml"
    line = edit(path, "entries: [pay_states]", "entries: [pay_states, pay_range]")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert any(
        o.startswith(f"{path}:{line}: ")
        and "entry 'pay_range' is illustrated by charts 'pay_levels' and 'pay_states'" in o
        for o in out
    ), out


def test_a_reply_owed_in_the_outbox_keeps_its_picture(engine):
    from bot.replies import dump_replies, load_replies

    turn = engine.handle("u1", "what are the career levels")
    assert turn.images == ["career_ladder"]
    assert load_replies(dump_replies(turn.replies)) == turn.replies
