"""`python -m bot check`: the shipped data is clean; each kind of broken file is located."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge import Knowledge
from bot.replies import MAX_MESSAGE

LINE = re.compile(r"^(?P<path>.+\.yaml):(?P<line>\d+): (?P<message>.+)$")


def run_check(capsys: pytest.CaptureFixture[str], folder: Path) -> tuple[int, list[str]]:
    code = main(["check", str(folder)])
    return code, capsys.readouterr().out.strip().splitlines()


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_shipped_data_is_clean(capsys, data_copy):
    code, out = run_check(capsys, data_copy)
    assert code == 0, out
    assert len(out) == 1 and out[0].startswith("ok: ") and "entries" in out[0]


def test_bad_yaml_reports_its_line(capsys, data_copy):
    path = data_copy / "knowledge" / "role.yaml"
    lines = path.read_text().splitlines()
    lines.insert(5, "  - id: [broken")
    path.write_text("\n".join(lines) + "\n")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert any(
        m["path"].endswith("role.yaml") and "YAML syntax" in m["message"]
        for m in map(LINE.match, out)
        if m
    )


def test_unknown_key_points_at_the_key(capsys, data_copy):
    path = data_copy / "knowledge" / "pay.yaml"
    text = path.read_text().replace("    sources:", "    sourcez:", 1)
    path.write_text(text)
    code, out = run_check(capsys, data_copy)
    assert code == 1
    expected = f"{path}:{line_of(path, 'sourcez:')}: unknown field 'sourcez'"
    assert expected in out


def test_missing_field_is_named(capsys, data_copy):
    path = data_copy / "knowledge" / "career.yaml"
    lines = path.read_text().splitlines()
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("title:"))
    del lines[title]
    path.write_text("\n".join(lines) + "\n")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert any(line.startswith(str(path)) and "missing field 'title'" in line for line in out)


def test_duplicate_id_across_files(capsys, data_copy):
    extra = data_copy / "knowledge" / "extra.yaml"
    extra.write_text(
        "version: 1\nentries:\n  - id: cert_fache\n    title: Again\n"
        "    answer: Twice.\n    sources: [jobicy]\n"
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert f"{extra}:3: duplicate entry id 'cert_fache' (first in " in "\n".join(out)


def test_dangling_related_id(capsys, data_copy):
    path = data_copy / "knowledge" / "extra.yaml"
    path.write_text(
        "version: 1\nentries:\n  - id: lonely\n    title: Lonely\n    answer: Hi.\n"
        "    sources: [jobicy]\n    related: [no_such_topic]\n"
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert f"{path}:7: related entry 'no_such_topic' does not exist" in out


def test_entry_without_source(capsys, data_copy):
    path = data_copy / "knowledge" / "extra.yaml"
    path.write_text("version: 1\nentries:\n  - id: unsourced\n    title: T\n    answer: A fact.\n")
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert f"{path}:3: entry 'unsourced' has no source" in out


def test_unknown_source_id(capsys, data_copy):
    path = data_copy / "knowledge" / "extra.yaml"
    path.write_text(
        "version: 1\nentries:\n  - id: badsrc\n    title: T\n    answer: A.\n"
        "    sources: [wikipedia]\n"
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert f"{path}:6: source 'wikipedia' is not in sources.yaml" in out


def test_example_claimed_by_two_intents(capsys, data_copy, kb: Knowledge):
    fache = kb.intents["cert_fache"].examples[0]
    path = data_copy / "intents" / "extra.yaml"
    examples = "".join(f"      - extra phrase {i}\n" for i in range(8))
    path.write_text(
        "version: 1\nintents:\n  - id: extra\n    answer: cert_cmm\n    examples:\n"
        f'{examples}      - "{fache.upper()}"\n'
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert any(
        line.startswith(f"{path}:14: ") and "claimed by intents 'cert_fache' and 'extra'" in line
        for line in out
    )


def test_missing_folder_and_no_traceback(capsys, tmp_path):
    code, out = run_check(capsys, tmp_path)
    assert code == 1
    assert all("folder not found" in line for line in out) and len(out) == 2


def test_every_answer_fits_one_telegram_message(kb: Knowledge):
    for entry in kb.entries.values():
        cite = "\n\nSources: " + "; ".join(kb.cite(entry.sources))
        for text in (entry.answer, entry.more or "", *(d.answer for d in entry.details)):
            assert len(entry.title) + 1 + len(text) + len(cite) <= MAX_MESSAGE, entry.id


def test_every_entry_cites_existing_sources_and_has_an_intent(kb: Knowledge):
    answered = {i.answer for i in kb.intents.values()}
    for entry in kb.entries.values():
        assert entry.sources and kb.cite(entry.sources), entry.id
        assert entry.id in answered, f"no intent answers {entry.id}"


def test_a_result_no_path_reaches_is_reported(capsys, data_copy):
    # Without its "Not sure yet" option, every path through the certification finder is caught
    # by a result above its overview, so a curator would be editing text nobody ever sees.
    path = data_copy / "knowledge" / "dialogs.yaml"
    option = '          - {id: unsure, label: "Not sure yet: show me all", next: years}\n'
    text = path.read_text()
    assert option in text
    path.write_text(text.replace(option, ""))
    code, out = run_check(capsys, data_copy)
    assert code == 1
    expected = f"{path}:{line_of(path, '      - id: any')}: result 'any' is never shown"
    assert any(line.startswith(expected) for line in out), out


def test_a_follow_up_rule_or_named_word_pointing_nowhere_is_located(capsys, data_copy):
    path = data_copy / "knowledge" / "conversation.yaml"
    text = path.read_text()
    text = text.replace("    answer: license_lookup", "    answer: license_nowhere")
    path.write_text(text.replace("  cmm: cert_cmm", "  cmm: cert_nope"))
    code, out = run_check(capsys, data_copy)
    assert code == 1
    assert (
        f"{path}:{line_of(path, 'license_nowhere')}: entry 'license_nowhere' does not exist" in out
    )
    assert f"{path}:{line_of(path, 'cert_nope')}: entry 'cert_nope' does not exist" in out


def test_a_tour_word_list_of_the_wrong_shape_is_located(capsys, data_copy):
    path = data_copy / "knowledge" / "dialogs.yaml"
    path.write_text(
        path.read_text().replace('  resume: ["continue",', '  resume: [[1], "continue",')
    )
    code, out = run_check(capsys, data_copy)
    assert code == 1 and any("tours.resume" in line for line in out), out
