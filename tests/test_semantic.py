"""The semantic stage: a current artifact, a named error for a bad model, bounded cost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from botprocess import CHECKOUT

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


def test_an_artifact_embedded_by_other_arithmetic_is_reported_and_never_served(data_copy: Path):
    """Its key matches, but its vectors are not what this machine's model computes."""
    kb = load(data_copy)
    path = semantic.artifact_path(kb)
    assert path is not None
    shipped = semantic.Classifier.read(path)
    rng = np.random.default_rng(1)
    noisy = shipped.vectors + rng.normal(0, 0.01, shipped.vectors.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    semantic.Classifier(
        shipped.key,
        shipped.classes,
        shipped.weights,
        shipped.bias,
        noisy,
        shipped.labels,
        shipped.texts,
        shipped.model,
    ).save(path)
    found = semantic.problems(kb)
    assert len(found) == 1 and "differ from this machine" in found[0].message
    served = semantic.load_semantic(kb).classifier
    assert np.allclose(served.vectors, shipped.vectors, atol=2e-3)  # re-embedded, not the noise
    assert semantic.problems(kb) == []  # and the rebuilt artifact was saved


def test_a_corrupt_model_file_stops_ask_with_a_named_error(tmp_path: Path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a graph")
    for model in (bad, tmp_path / "missing.onnx"):
        env = {**os.environ, "PYTHONPATH": CHECKOUT, "CAREERBOT_EMBEDDING_MODEL": str(model)}
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


# --- bad input (issue 12): a sensible reply within the cost, whatever arrives -----------------

STORY = (
    "I have been a nurse for years and my director keeps asking me to cover the budget "
    "meetings, so how do I move into management? "
)
BAD_INPUT = {
    "full length": (STORY * 40)[:4096],
    "emoji flood": "😀" * 2048,
    "emoji after a question": "how much do they make? " + "🙏" * 2000,
    "arabic": "مرحبا كيف أصبح مدير مستشفى",
    "chinese": "如何成为医院管理者",
    "cyrillic": "Как стать менеджером больницы",
    "blank": " \n\t ",
    "zero width": "\u200b\u200d\ufe0f",
}


def test_bad_input_gets_a_sensible_reply_within_the_cost(engine: Engine, kb: Knowledge):
    engine.handle("warm", "salary?")
    redirect = {kb.responses[r].text for r in ("off_topic", "empty", "unsure")}
    for name, text in BAD_INPUT.items():
        start = time.process_time()  # CPU time: what the message costs, not the machine's load
        turn = engine.handle(f"bad-{name}", text)
        spent = time.process_time() - start
        assert spent < 0.25, f"{name}: {spent * 1000:.0f} ms of CPU"
        plain = turn.plain()
        assert plain.strip(), name
        if name in ("emoji flood", "blank", "zero width", "arabic", "chinese", "cyrillic"):
            assert not turn.matched and any(r.split("$")[0][:40] in plain for r in redirect), name
    assert engine.handle("emoji-q", BAD_INPUT["emoji after a question"]).intent == "pay_median"


def test_the_model_reads_words_not_an_emoji_flood_or_markup():
    from bot.understanding.semantic import MODEL_CHARS, model_text

    assert model_text("salary? " + "🙏" * 2000) == "salary?"
    assert len(model_text("word " * 5000)) <= MODEL_CHARS
    assert model_text("<b>what is an mha</b>") == "what is an mha"
    assert model_text("is 3 < 5 years?") == "is 3 5 years?"


def test_a_corrupt_or_missing_model_stops_run_with_one_named_line(tmp_path: Path):
    from botprocess import bot_env, run_to_exit

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    for model in (bad, tmp_path / "missing.onnx"):
        env = bot_env(
            tmp_path / "bot.db",
            TELEGRAM_BOT_TOKEN="123456:" + "A" * 35,
            TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",  # never reached
            CAREERBOT_EMBEDDING_MODEL=str(model),
        )
        done = run_to_exit(env, tmp_path)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(model) in lines[0], done.stderr


def test_check_names_a_missing_or_corrupt_model(tmp_path: Path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a graph")
    for model in (bad, tmp_path / "missing.onnx"):
        env = {**os.environ, "PYTHONPATH": CHECKOUT, "CAREERBOT_EMBEDDING_MODEL": str(model)}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "check"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 1
        assert str(model) in done.stdout + done.stderr
