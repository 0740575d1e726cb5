"""Guided dialogs: every path ends in a fitting result; bad answers, restarts and stale buttons."""

from __future__ import annotations

import itertools

import pytest

from bot.dialogcheck import paths, pick_result
from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.replies import MAX_CALLBACK, MAX_MESSAGE, Turn
from bot.schema import Dialog, Step
from bot.store import Store

pytestmark = pytest.mark.both_backends  # every test on SQLite and on PostgreSQL

counter = itertools.count()


def button(turn: Turn, prefix: str, suffix: str = "") -> str:
    """The data of the first button starting with ``prefix`` and ending with ``suffix``."""
    for b in turn.buttons:
        if b.data.startswith(prefix) and b.data.endswith(suffix):
            return b.data
    raise AssertionError(f"no button {prefix}*{suffix} in {[b.data for b in turn.buttons]}")


def number_for(step: Step, value: str) -> str:
    """A typed number that falls in the range giving ``value``."""
    low = step.min
    for r in step.ranges:
        high = r.under if r.under is not None else step.max
        if r.value == value:
            return f"{(low + high) / 2:g}" if r.under is not None else f"{low:g}"
        low = high
    raise AssertionError(value)


def walk(engine: Engine, user: str, dialog: Dialog, answers: dict[str, str]) -> Turn:
    """Start ``dialog`` and answer each asked step from ``answers``; return the last turn."""
    steps = {s.id: s for s in dialog.steps}
    turn = engine.press(user, f"d:{dialog.id}")
    for _ in range(len(dialog.steps) + 1):
        state = engine.store.user(user).dialog
        if state is None:
            return turn
        step = steps[state.step]
        value = answers[step.slot]
        if step.input == "number":
            turn = engine.handle(user, number_for(step, value))
        else:
            turn = engine.press(user, button(turn, "a:", f":{step.id}:{value}"))
    raise AssertionError("dialog did not end")


def test_every_path_of_every_dialog_reaches_its_result(engine: Engine, kb: Knowledge):
    walked = 0
    for dialog in kb.dialogs.values():
        if dialog.action:  # ends by doing something (a reminder), tested in test_reminders
            continue
        for answers in paths(dialog):
            user = f"walker-{next(counter)}"
            turn = walk(engine, user, dialog, answers)
            result = pick_result(dialog, answers)
            assert result is not None
            final = turn.replies[-1]
            assert final.text == result.text, (dialog.id, answers)
            assert final.sources, "a recommendation names its sources"
            topics = {b.data for b in final.buttons}
            assert {f"t:{e}" for e in result.entries} <= topics
            assert len(final.plain()) <= MAX_MESSAGE
            assert all(len(b.data.encode()) <= MAX_CALLBACK for b in turn.buttons)
            walked += 1
    assert walked >= 4


def test_commands_open_their_dialogs(engine: Engine, kb: Knowledge):
    for command, dialog_id in (
        ("certifications", "cert_finder"),
        ("degrees", "degree_planner"),
        ("path", "next_step"),
    ):
        turn = engine.handle(f"cmd-{command}", f"/{command}")
        first = kb.dialogs[dialog_id].steps[0]
        assert turn.replies[-1].text.startswith(first.ask)


def _to_years_step(engine: Engine, user: str) -> Turn:
    turn = engine.handle(user, "/certifications")
    turn = engine.press(user, button(turn, "a:", ":setting:hospital"))
    return engine.press(user, button(turn, "a:", ":interest:quality"))


@pytest.mark.parametrize("bad", ["lots", "-5", "75", "", "five-ish", "nan", "1e999"])
def test_bad_typed_answers_are_re_asked(engine: Engine, kb: Knowledge, bad: str):
    user = f"bad-{next(counter)}"
    _to_years_step(engine, user)
    turn = engine.handle(user, bad)
    years = next(s for s in kb.dialogs["cert_finder"].steps if s.slot == "years")
    assert years.invalid in turn.plain() or kb.responses["empty"].text in turn.plain()
    assert engine.store.user(user).dialog.step == years.id
    turn = engine.handle(user, "4 years")
    assert engine.store.user(user).dialog is None
    assert "my suggestion" in (turn.replies[-1].title or "")


def test_dialog_resumes_after_a_restart(store_location, kb: Knowledge):
    path = store_location
    first = Engine(kb, Store(path))
    turn = first.handle("r1", "/degrees")
    turn = first.press("r1", button(turn, "a:", ":education:bach_health"))
    first.store.close()
    second = Engine(kb, Store(path))  # a new process, the same file
    state = second.store.user("r1").dialog
    assert state and state.step != kb.dialogs["degree_planner"].start
    turn = second.press("r1", button(turn, "a:", ":clinical:nurse"))
    turn = second.press("r1", button(turn, "a:", ":org_goal:large_system"))
    assert second.store.user("r1").dialog is None
    assert "my suggestion" in (turn.replies[-1].title or "")


def test_stale_and_forged_buttons_get_a_polite_answer(engine: Engine, kb: Knowledge):
    user = f"stale-{next(counter)}"
    turn = engine.handle(user, "/degrees")
    old = button(turn, "a:")
    engine.handle(user, "/cancel")
    stale_text = kb.responses["stale_button"].text
    assert engine.press(user, old).plain() == stale_text
    for forged in (
        "a:ffffff:years:y0_3",
        "a:::",
        "zzz",
        "",
        "t:no_such_topic",
        "d:nope",
        "c:123456:years",
        "f:cert_fache:7",
        "a:" + "x" * 60,
    ):
        reply = engine.press(user, forged)
        assert reply.plain() == stale_text, forged


def test_cancel_works_at_every_step(engine: Engine, kb: Knowledge):
    for dialog in kb.dialogs.values():
        if dialog.action:
            continue
        answers = next(iter(paths(dialog)))
        steps = {s.id: s for s in dialog.steps}
        for stop_after in range(len(answers)):
            user = f"cancel-{next(counter)}"
            turn = engine.press(user, f"d:{dialog.id}")
            for _ in range(stop_after):
                state = engine.store.user(user).dialog
                step = steps[state.step]
                if step.input == "number":
                    turn = engine.handle(user, number_for(step, answers[step.slot]))
                else:
                    wanted = f":{step.id}:{answers[step.slot]}"
                    turn = engine.press(user, button(turn, "a:", wanted))
            if engine.store.user(user).dialog is None:
                continue
            cancelled = engine.handle(user, "/cancel")
            assert dialog.title in cancelled.plain()
            assert engine.store.user(user).dialog is None
            for old in (b.data for b in turn.buttons if b.data.startswith("a:")):
                assert engine.press(user, old).plain() == kb.responses["stale_button"].text


def test_a_question_mid_dialog_is_answered_and_resume_is_offered(engine: Engine, kb: Knowledge):
    user = f"mid-{next(counter)}"
    turn = engine.handle(user, "/certifications")
    turn = engine.handle(user, "what is the salary of a hospital administrator?")
    assert turn.intent == "pay_median" and turn.sources
    assert {"r", "x"} <= {b.data for b in turn.buttons}
    resumed = engine.press(user, "r")
    assert resumed.replies[-1].text.startswith(kb.dialogs["cert_finder"].steps[0].ask)


def test_typing_an_option_label_chooses_it(engine: Engine):
    user = f"typed-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "Hospital or health system")
    assert engine.store.user(user).profile.get("setting") == "hospital"


def test_remembered_answers_are_reused_and_can_be_changed(engine: Engine, kb: Knowledge):
    user = f"memory-{next(counter)}"
    _to_years_step(engine, user)
    engine.handle(user, "5")
    turn = engine.handle(user, "/path")
    assert "Using what you told me before" in turn.plain() and "5" in turn.plain()
    role_step = next(s for s in kb.dialogs["next_step"].steps if s.slot == "role")
    assert turn.replies[-1].text.startswith(role_step.ask)
    change = button(turn, "c:")
    turn = engine.press(user, change)
    years = next(s for s in kb.dialogs["next_step"].steps if s.slot == "years")
    assert turn.replies[-1].text.startswith(years.ask)
    engine.handle(user, "12")
    assert engine.store.user(user).profile["years"] == "y7_15"


def test_not_sure_in_the_certification_finder_shows_every_direction(engine: Engine, kb: Knowledge):
    answers = {"setting": "hospital", "interest": "unsure", "years": "y3_7"}
    turn = walk(engine, "unsure-user", kb.dialogs["cert_finder"], answers)
    text = "\n".join(r.text for r in turn.replies)
    assert "by direction" in text
    for credential in ("CMPE", "CHFP", "CPHQ", "FACHE"):
        assert credential in text


def test_a_tour_asked_for_in_words_starts(engine: Engine, kb: Knowledge):
    for text, dialog in [
        ("could you walk me through the licensing part", "nha_licensing"),
        ("help me choose a credential", "cert_finder"),
        ("I want to plan my degree", "degree_planner"),
    ]:
        user = f"asked-{next(counter)}"
        turn = engine.handle(user, text)
        assert engine.store.user(user).dialog is not None, text
        assert engine.store.user(user).dialog.id == dialog
        assert turn.replies[-1].text == kb.dialogs[dialog].steps[0].ask


def test_a_question_naming_a_tours_topic_is_still_answered(engine: Engine):
    user = f"notour-{next(counter)}"
    turn = engine.handle(user, "which certification is best for quality work?")
    assert engine.store.user(user).dialog is None and turn.matched


def test_resume_and_stop_words_steer_a_running_tour(engine: Engine, kb: Knowledge):
    user = f"steer-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "what is the salary of a hospital administrator?")
    first = kb.dialogs["cert_finder"].steps[0].ask
    for said in ["ok, carry on", "go on please", "back to it"]:
        assert engine.handle(user, said).replies[-1].text == first
        assert engine.store.user(user).dialog is not None
    turn = engine.handle(user, "never mind, stop")
    assert engine.store.user(user).dialog is None
    assert turn.plain() == engine.response("cancelled", dialog="Certification finder").text


def test_stop_inside_a_question_does_not_end_the_tour(engine: Engine):
    user = f"stopq-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "when can I stop renewing the FACHE?")
    assert engine.store.user(user).dialog is not None


def test_a_typed_answer_is_taken_by_its_meaning(engine: Engine):
    user = f"meaning-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "I'd be running a doctor's office")
    assert engine.store.user(user).profile.get("setting") == "practice"
    engine.handle(user, "mostly money: budgets and billing")
    assert engine.store.user(user).profile.get("interest") == "finance"
    engine.handle(user, "about six years I think")
    assert engine.store.user(user).profile.get("years") == "y3_7"


def test_a_typed_answer_no_word_of_which_names_an_option_is_taken_by_meaning(engine: Engine):
    user = f"nearest-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "a hospital")
    for other in ["hello", "my dog is called Rex"]:  # no answer: the step stays open
        engine.handle(user, other)
        assert engine.store.user(user).dialog.step == "interest", other
    engine.handle(user, "keeping patients safe")  # no option's word, the meaning of one
    assert engine.store.user(user).profile.get("interest") == "quality"
    engine.handle(user, "/degrees")
    engine.handle(user, "high school")
    engine.handle(user, "i'm an x-ray tech")
    assert engine.store.user(user).profile.get("clinical") == "other_clinical"


def test_words_after_not_are_not_what_the_answer_means(engine: Engine):
    user = f"negated-{next(counter)}"
    engine.handle(user, "walk me through licensing")
    engine.handle(user, "an assisted living place, not a nursing home")
    assert engine.store.user(user).dialog.slots.get("ltc_kind") == "assisted_living"


def test_a_question_after_a_lead_in_is_answered_not_taken_as_an_option(engine: Engine):
    user = f"aside-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "a hospital")
    turn = engine.handle(user, "wait, do nursing home administrators need a license")
    assert turn.intent == "license_nha", turn.intent
    assert engine.store.user(user).dialog.step == "interest"  # the step is still open
    assert "interest" not in engine.store.user(user).profile


def test_a_typed_yes_or_no_picks_the_option_that_says_it(engine: Engine):
    user = f"polar-{next(counter)}"
    engine.handle(user, "walk me through nursing home administrator licensing")
    engine.handle(user, "a nursing home")
    engine.handle(user, "I don't have a bachelor's")
    assert engine.store.user(user).profile.get("has_bachelor") == "no"
    engine.handle(user, "yep, three years as a CNA")
    assert engine.store.user(user).dialog is None  # the last step answered: the suggestion
    assert engine.store.user(user).profile.get("ltc_experience") == "yes"


def test_walk_me_through_it_picks_the_tour_of_the_topic_in_play(engine: Engine, kb: Knowledge):
    user = f"itour-{next(counter)}"
    engine.handle(user, "what is the CPHQ")
    turn = engine.handle(user, "can you walk me through it?")
    assert engine.store.user(user).dialog.id == "cert_finder"
    assert turn.replies[-1].text == kb.dialogs["cert_finder"].steps[0].ask


def test_an_unknown_command_is_read_as_its_words(engine: Engine, kb: Knowledge):
    user = f"cmdwords-{next(counter)}"
    engine.handle(user, "/licensing")
    assert engine.store.user(user).dialog.id == "nha_licensing"
    assert engine.handle(f"{user}-b", "/salary").intent == "pay_median"
    menu = engine.handle(f"{user}-c", "/tour salary")  # a tour it names none of: the menu
    assert menu.plain().startswith(kb.responses["menu"].text)
    unknown = engine.handle(f"{user}-d", "/qwertz")
    assert unknown.plain() == engine.response("unknown_command", command="/qwertz").text


@pytest.mark.parametrize(
    ("request_", "answer", "started"),
    [
        ("/tour", "the certification one", "cert_finder"),
        ("give me a tour", "degrees", "degree_planner"),
        ("what tours do you have?", "licensing please", "nha_licensing"),
        ("guide me", "4", "nha_licensing"),
    ],
)
def test_a_tour_asked_for_by_no_name_asks_which_and_a_typed_answer_starts_it(
    engine: Engine, kb: Knowledge, request_: str, answer: str, started: str
):
    user = f"pick-{next(counter)}"
    which = engine.handle(user, request_)
    assert engine.store.user(user).dialog.id == "tour_pick"  # a tour is running: which one?
    assert [b.label for b in which.replies[-1].buttons][:4] == [
        o.label for o in kb.dialogs["tour_pick"].steps[0].options
    ]
    turn = engine.handle(user, answer)
    assert engine.store.user(user).dialog.id == started
    assert turn.replies[-1].text.startswith(kb.dialogs[started].steps[0].ask)


def test_the_tour_picker_stops_and_lets_a_question_through(engine: Engine):
    user = f"pickstop-{next(counter)}"
    engine.handle(user, "/tour")
    asked = engine.handle(user, "how much do they make?")
    assert asked.intent == "pay_median"  # answered; the picker waits
    assert engine.store.user(user).dialog.id == "tour_pick"
    engine.handle(user, "stop")
    assert engine.store.user(user).dialog is None
    # a tour request with words of its own is a question, not the picker
    engine.handle(user, "can you walk me through the salary numbers?")
    assert engine.store.user(user).dialog is None


def test_a_short_answer_picks_an_option_by_its_place(engine: Engine):
    user = f"ordinal-{next(counter)}"
    engine.handle(user, "/certifications")
    engine.handle(user, "the second one")
    assert engine.store.user(user).profile.get("setting") == "practice"
    engine.handle(user, "3")
    assert engine.store.user(user).profile.get("interest") == "quality"
