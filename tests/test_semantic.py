"""The semantic stage: a current artifact, a named error for a bad model, bounded cost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.engine import Engine
from bot.knowledge import Knowledge, load
from bot.understanding import semantic


def test_the_shipped_classifier_artifact_is_current(kb: Knowledge):
    """A stale artifact fails here: `python -m bot.understanding build` after editing intents/."""
    assert semantic.problems(kb) == []


def test_changed_intents_make_the_artifact_stale(data_copy: Path):
    oos = data_copy / "intents" / "out_of_scope.yaml"
    oos.write_text(oos.read_text() + "  - how do i become a lion tamer\n")
    found = semantic.problems(load(data_copy))
    assert len(found) == 1 and "stale" in found[0].message
    assert str(found[0].path).endswith("semantic.npz")


def test_a_corrupt_model_file_stops_ask_with_a_named_error(tmp_path: Path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a graph")
    for model in (bad, tmp_path / "missing.onnx"):
        env = {**os.environ, "CAREERBOT_EMBEDDING_MODEL": str(model)}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "salary?"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and str(model) in done.stderr


def test_long_messages_cost_what_short_ones_do(engine: Engine):
    text = "I have been covering for our department head and wonder where to start. " * 60
    start = time.perf_counter()
    turn = engine.handle("long", text[:4096])
    assert time.perf_counter() - start < 1.0
    assert turn.replies


def test_a_long_personal_story_is_understood(engine: Engine):
    turn = engine.handle(
        "story",
        "I've been a charge nurse for six years and my director keeps asking me to cover "
        "staffing and budgets. I think I want to move into management. What degree should I get?",
    )
    assert turn.intent is not None and turn.replies


def test_a_reload_of_changed_intents_rebuilds_and_serves_no_stale_artifact(data_copy: Path):
    oos = data_copy / "intents" / "out_of_scope.yaml"
    oos.write_text(oos.read_text() + "  - how do i become a lion tamer\n")
    kb = load(data_copy)
    served = semantic.load_semantic(kb)  # reuses the stored vectors: only the new phrase is new
    assert served.classifier.key == semantic.artifact_key(kb, served.embedder.digest)
    assert semantic.problems(kb) == []  # the rebuilt artifact was saved beside the data
    assert served.classify("how do i become a lion tamer").top == semantic.OOS
