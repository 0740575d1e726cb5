"""Understanding: answers with confidence, suggests when unsure, redirects what is off-topic."""

from __future__ import annotations

from pathlib import Path

import pytest
from rapidfuzz import fuzz, process, utils

from bot.engine import Engine
from bot.evaluate import OOS, Example, evaluate, load_set
from bot.knowledge import Knowledge
from bot.replies import MAX_CALLBACK, MAX_MESSAGE
from bot.schema import Intent, LexiconFile
from bot.texts import topic_button
from bot.understanding.matcher import Matcher, Outcome

LABELLED = Path(__file__).parent / "data" / "labelled.yaml"
REALISTIC = Path(__file__).parent / "data" / "realistic.yaml"


def assert_no_copies(kb: Knowledge, examples: list[Example]) -> None:
    """A test set measures generalisation: no question may be a (near-)copy of a training
    phrase."""
    own = [utils.default_process(p) for i in kb.intents.values() for p in i.examples]
    copies = [
        e.text
        for e in examples
        if process.extractOne(utils.default_process(e.text), own, scorer=fuzz.ratio)[1] >= 85
    ]
    assert not copies, f"{len(copies)} test questions copy training phrases: {copies[:3]}"


def test_labelled_set_accuracy_and_rejection(engine: Engine, kb: Knowledge):
    examples = load_set(LABELLED)
    in_scope = [e for e in examples if e.label != OOS]
    assert len(in_scope) >= 250 and len(examples) - len(in_scope) >= 50
    assert_no_copies(kb, examples)
    report = evaluate(engine, examples)
    # floors at what is measured (README "Understanding"): 97.2%, 98.5%, 0.7%, 96.1%
    assert report.accuracy >= 0.971, f"top-1 accuracy {report.accuracy:.1%}"
    assert report.rejection >= 0.984, f"off-topic rejection {report.rejection:.1%}"
    # when unsure the bot asks; a confident wrong answer must stay rare
    assert report.wrong_rate <= 0.008, f"answered wrong {report.wrong_rate:.1%}"
    assert report.answered >= 0.96, f"answered outright {report.answered:.1%}"


def test_realistic_set_of_strangers_questions(engine: Engine, kb: Knowledge):
    """Questions written from the five documents only, by someone who never saw intents/:
    long personal messages, indirect questions, texting, very short ones, near-domain
    off-topic. Floors guard against regression; the targets (85% right, 97% rejected, 3%
    wrong) are not reached yet (README "Understanding")."""
    examples = load_set(REALISTIC)
    in_scope = [e for e in examples if e.label != OOS]
    kinds = [e.kind for e in in_scope]
    assert len(in_scope) >= 200 and len(examples) - len(in_scope) >= 60
    assert kinds.count("long") >= 0.30 * len(in_scope)
    assert kinds.count("indirect") >= 0.15 * len(in_scope)
    assert kinds.count("typo") >= 0.15 * len(in_scope)
    # the issue asks for at least 10% very short (1-4 word) questions, the way people really
    # type; they are also the likeliest near-copies of training phrases (assert_no_copies)
    assert kinds.count("short") >= 0.10 * len(in_scope)
    assert_no_copies(kb, examples)
    report = evaluate(engine, examples)
    # floors at what is measured (README "Understanding"): 84.7% right (221 of 261), 98.6%
    # rejected (73 of 74), 5.0% wrong (13 of 261)
    assert report.answered >= 0.846, f"answered right {report.answered:.1%}"
    assert report.rejection >= 0.986, f"off-topic rejection {report.rejection:.1%}"
    assert report.wrong_rate <= 0.050, f"answered wrong {report.wrong_rate:.1%}"


@pytest.mark.parametrize(
    "question",
    [
        "how do I become a pilot",
        "how do i become a software engineer",
        "software engineer salary",
        "what is the weather in paris",
        "asdkjh qwpoe zxmnb",
        "¿cómo puedo ser administrador de un hospital?",
    ],
)
def test_off_topic_is_redirected_not_answered(engine: Engine, kb: Knowledge, question: str):
    turn = engine.handle("u1", question)
    assert not turn.matched
    assert turn.plain() in {kb.responses["off_topic"].text, kb.responses["unsure"].text} or (
        "health services management" in turn.plain()
    )
    assert not turn.sources


def test_off_topic_names_what_the_bot_covers(engine: Engine):
    text = engine.handle("u1", "how do I become a pilot").plain()
    assert "health services management" in text and "certifications" in text


def test_health_question_gets_not_medical_advice(engine: Engine, kb: Knowledge):
    turn = engine.handle("u1", "I have chest pain and a fever, what medication should I take?")
    assert not turn.matched
    assert turn.plain() == kb.responses["medical"].text


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("how do i become a nursing home administrator", "license_nha"),
        ("salry?", "pay_median"),
        ("fache vs cmm", None),
        ("whats an mha", "degree_mha"),
        ("cmm certfication", "cert_cmm"),
    ],
)
def test_real_questions_get_sourced_answers(engine: Engine, question: str, intent: str | None):
    turn = engine.handle("u1", question)
    if intent is None:
        assert turn.replies and turn.plain()
        return
    assert turn.matched and turn.intent == intent, (turn.intent, turn.score)
    assert turn.sources, "every answer names its documents"
    assert "Sources: " in turn.plain()


def test_salary_then_a_state_uses_the_context(engine: Engine, kb: Knowledge):
    engine.handle("u2", "how much do healthcare administrators make")
    turn = engine.handle("u2", "and in delaware?")
    delaware = next(d for d in kb.entries["pay_states"].details if "delaware" in d.names)
    assert turn.matched and delaware.answer in turn.plain()
    assert "110,955" in turn.plain()


def test_which_associations_to_join_gets_the_list_not_the_fees(engine: Engine):
    whole = engine.handle(
        "u9", "Which professional associations should a healthcare manager join?"
    )
    assert all(name in whole.plain() for name in ("ACHE", "MGMA", "HFMA"))
    assert "don't give membership fees" not in whole.plain()
    fees = engine.handle("u10", "what are ACHE's membership fees?")
    assert "fees" in fees.plain()


def test_fache_then_how_do_i_keep_it(engine: Engine, kb: Knowledge):
    engine.handle("u3", "tell me about fache")
    turn = engine.handle("u3", "how do I keep it?")
    renewal = next(d for d in kb.entries["cert_fache"].details if d.id == "renewal")
    assert turn.intent == "cert_fache"
    assert renewal.answer in turn.plain()


def test_a_follow_up_without_context_is_not_guessed(engine: Engine):
    turn = engine.handle("fresh", "how do I keep it?")
    assert turn.intent != "cert_fache"


def test_unsure_offers_at_most_three_suggestions(engine: Engine, kb: Knowledge):
    turn = engine.handle("u4", "requirements?")  # of a degree, a licence or a certification?
    assert not turn.matched
    assert 1 <= len(turn.suggestions) <= 3
    assert turn.suggestions == [b.label for b in turn.buttons]
    names = {topic_button(e).label for e in kb.entries.values()}  # button names or titles
    assert set(turn.suggestions) <= names


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "a" * 10_000,
        "salary " * 2000,
        "😀🎉🔥",
        "\x00\x01\x02 hello \x7f",
        "مرحبا كيف أصبح مدير مستشفى",
        "'; DROP TABLE users; --",
        "<script>alert('x')</script> <b>salary</b>",
        "/",
        "/nosuchcommand with args",
        "1234567890",
        "?????",
    ],
)
def test_bad_input_gets_a_clear_reply(engine: Engine, text: str):
    turn = engine.handle("u5", text)
    assert turn.replies and all(r.plain().strip() for r in turn.replies)
    for reply in turn.replies:
        assert len(reply.plain()) <= MAX_MESSAGE
        assert all(len(b.data.encode()) <= MAX_CALLBACK for b in reply.buttons)
    assert engine.store.user("u5") is not None


def test_start_deep_link_opens_a_topic(engine: Engine, kb: Knowledge):
    turn = engine.handle("deep", "/start cert_fache")
    assert turn.intent == "cert_fache" and kb.entries["cert_fache"].answer in turn.plain()


def test_feedback_buttons_are_recorded_per_entry(engine: Engine):
    turn = engine.handle("fb", "what is fache")
    unhelpful = next(b.data for b in turn.buttons if b.data.endswith(":0"))
    engine.press("fb", unhelpful)
    engine.press("fb2", unhelpful)
    assert engine.store.curation.unhelpful() == [("cert_fache", 2)]


def test_a_word_near_a_health_word_is_not_taken_for_it():
    """Spelling correction may reach a health word from one edit away (a typo), never from two:
    "visiting" is not "vomiting", or a career question would get the not-medical-advice reply."""
    examples = [f"what does a manager do on {day}" for day in ("monday", "friday")] * 4
    intents = [Intent(id="duties", answer="role_duties", examples=examples)]
    matcher = Matcher(intents, LexiconFile(version=1, medical=["vomiting"]), set())
    assert matcher.normalize("visiting wards") == ["visiting", "wards"]
    assert matcher.match("do managers go visiting wards").outcome is not Outcome.MEDICAL
    assert matcher.match("i keep vomitting").outcome is Outcome.MEDICAL


# --- answers that fit the question (issue 12, item 3) -------------------------------------------


def _detail(kb: Knowledge, entry: str, detail: str) -> str:
    return next(d.answer for d in kb.entries[entry].details if d.id == detail)


def test_upsides_and_downsides_get_both_sides(engine: Engine, kb: Knowledge):
    turn = engine.handle("w1", "what are the upsides and downsides of this career?")
    assert turn.matched and turn.intent == "pros_cons"
    assert kb.entries["pros_cons"].answer in turn.plain()
    assert _detail(kb, "pros_cons", "pros") not in turn.plain()  # not one side alone


def test_one_side_asked_gets_that_side(engine: Engine, kb: Knowledge):
    turn = engine.handle("w2", "what are the downsides?")
    assert _detail(kb, "pros_cons", "cons") in turn.plain()


def test_walking_through_the_levels_gets_every_tier(engine: Engine, kb: Knowledge):
    turn = engine.handle("w3", "walk me through the levels from assistant to director")
    assert turn.matched and kb.entries["career_ladder"].answer in turn.plain()
    for tier in ("Assistant", "Director"):
        assert tier in turn.plain()


def test_a_whole_topic_word_asks_for_the_whole_topic(engine: Engine, kb: Knowledge):
    turn = engine.handle("w4", "give me the whole rundown on the career path, every tier")
    assert kb.entries["career_ladder"].answer in turn.plain()


@pytest.mark.parametrize(
    ("question", "state"),
    [
        ("pay in RI?", "rhode_island"),
        ("how much do they make in boston", "massachusetts"),
        ("pay in NYC?", "new_york"),
        ("what do health services managers earn in CT", "connecticut"),
    ],
)
def test_a_state_by_its_code_or_big_city_gets_that_states_figure(
    engine: Engine, kb: Knowledge, question: str, state: str
):
    turn = engine.handle("w5", question)
    assert turn.matched, (turn.intent, turn.score)
    assert _detail(kb, "pay_states", state) in turn.plain()


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("how 2 get a job as an hsm", "become_steps"),
        ("wat do u think r the pros n cons of being a hcm", "pros_cons"),
        ("how many yrs of exp b4 i can be a hsm", "experience_years"),
    ],
)
def test_texting_shorthand_is_understood(engine: Engine, question: str, intent: str):
    turn = engine.handle("w9", question)
    assert turn.matched and turn.intent == intent, (turn.intent, turn.score)


def test_what_about_ct_after_a_salary_question_uses_the_context(engine: Engine, kb: Knowledge):
    engine.handle("w6", "what's the median salary for this job?")
    turn = engine.handle("w6", "what about CT")
    assert _detail(kb, "pay_states", "connecticut") in turn.plain()


def test_a_city_the_documents_have_no_figure_for_is_answered_honestly(engine: Engine):
    turn = engine.handle("w7", "salary in chicago")
    assert turn.matched and turn.intent == "pay_states"
    assert "don't have pay figures" in turn.plain()


def test_a_quoted_figure_is_understood_not_noise(engine: Engine):
    turn = engine.handle("w8", "is $101,340 the median or the average?")
    assert turn.matched and turn.intent == "pay_median", (turn.intent, turn.score)
    assert "101,340" in turn.plain() and "median" in turn.plain()


def test_figures_keep_their_digits_and_count_as_known(kb: Knowledge):
    from bot.understanding import build_matcher

    matcher = build_matcher(kb)
    assert "101340" in matcher.normalize("is $101,340 right?")
    assert matcher.match("is $101,340 the median?").numbers == ["101340"]


def test_a_medical_word_in_a_workplace_is_no_health_question(engine: Engine, kb: Knowledge):
    job = (
        "I'm a front desk supervisor at a family medicine clinic and want to meet people in "
        "the field. Which professional associations should I join?"
    )
    assert engine.handle("u1", job).intent == "assoc_overview"
    health = engine.handle("u1", "what medicine helps with a migraine")
    assert health.plain() == kb.responses["medical"].text
