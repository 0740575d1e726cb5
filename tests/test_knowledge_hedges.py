"""The knowledge keeps every hedge the documents make (issue 15).

Each test reads what a user is shown: an entry's title with its answer, "more" or detail (a
reply always carries the entry's title), a guided tour's result, the bot's own responses and
button labels. A few walk a conversation or a tour through the engine, as a user would.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.replies import Turn

counter = itertools.count()


def shown(kb: Knowledge) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a user can be shown as one message or button."""
    for e in kb.entries.values():
        yield f"{e.id}", f"{e.title}\n{e.answer}"
        if e.more:
            yield f"{e.id}/more", f"{e.title}\n{e.more}"
        for d in e.details:
            yield f"{e.id}/{d.id}", f"{e.title}\n{d.answer}"
    for dialog in kb.dialogs.values():
        for step in dialog.steps:
            yield f"{dialog.id}/{step.id}", step.ask
            for option in step.options:
                yield f"{dialog.id}/{step.id}/{option.id}", option.label
        for result in dialog.results:
            yield f"{dialog.id}/{result.id}", result.text
    for response in kb.responses.values():
        yield f"responses/{response.id}", response.text
        for b in response.buttons:
            yield f"responses/{response.id}/button", b.label


def result(kb: Knowledge, dialog: str, result_id: str) -> str:
    return next(r.text for r in kb.dialogs[dialog].results if r.id == result_id)


def tour(engine: Engine, dialog: str, answers: dict[str, str]) -> str:
    """Run a guided tour, pressing the option (or typing the number) given for each slot."""
    user = f"hedge-{next(counter)}"
    steps = {s.id: s for s in engine.kb.dialogs[dialog].steps}
    turn: Turn = engine.press(user, f"d:{dialog}")
    while (state := engine.store.user(user).dialog) is not None:
        step = steps[state.step]
        value = answers[step.slot]
        if step.input == "number":
            turn = engine.handle(user, value)
        else:
            data = next(b.data for b in turn.buttons if b.data.endswith(f":{step.id}:{value}"))
            turn = engine.press(user, data)
    return turn.replies[-1].plain()


# --- 1. CPHM's issuer is one document's word ----------------------------------------------------

ACHE = re.compile(r"\bACHE\b|American College of Healthcare Executives")


def test_every_mention_of_cphms_issuer_says_only_one_document_names_it(kb: Knowledge):
    hedged = 0
    for where, text in shown(kb):
        for line in text.splitlines():
            if "CPHM" in line and ACHE.search(line):
                assert "only" in line and "advancement guide" in line, (where, line)
                hedged += 1
    assert hedged >= 8  # the finder's results, the overviews, the CPHM and ACHE entries


def test_certification_finder_hedges_cphm_on_the_leadership_and_catch_all_results(
    engine: Engine, kb: Knowledge
):
    for years in ("1", "10"):  # lead_new and lead_exp
        text = tour(
            engine,
            "cert_finder",
            {"setting": "hospital", "interest": "leadership", "years": years},
        )
        cphm = next(line for line in text.splitlines() if "CPHM" in line)
        assert "only the career advancement guide" in cphm, text
    assert "tie you to ACHE" not in result(kb, "cert_finder", "lead_exp")
    catch_all = result(kb, "cert_finder", "any")
    assert "FACHE and CPHM (ACHE)" not in catch_all
    assert "only the career advancement guide names an issuer" in catch_all


# --- 2. "at least three to five years" ---------------------------------------------------------

RANGE = re.compile(r"(3 to 5|3-5|three to five) years", re.IGNORECASE)


def test_jobicys_experience_range_always_keeps_at_least(kb: Knowledge):
    kept = 0
    for where, text in shown(kb):
        for m in RANGE.finditer(text):
            assert text[: m.start()].endswith("at least "), (where, text[m.start() - 40 : m.end()])
            kept += 1
    assert kept >= 10  # every answer and tour result that quotes the range


@pytest.mark.parametrize("role", ["admin", "clinical"])
def test_three_years_is_not_told_it_meets_the_range(engine: Engine, role: str):
    text = tour(engine, "next_step", {"years": "3", "role": role})
    assert "at least 3 to 5 years" in text
    assert "you meet" not in text


# --- 3. a nursing home licence is not the only licence -------------------------------------------


def test_licence_summaries_name_every_case_the_detail_names(kb: Knowledge):
    # what the "required" detail of cert_overview already said, the summaries now say too
    for text in (kb.entries["cert_overview"].answer, result(kb, "cert_finder", "any")):
        assert "assisted-living administrators" in text
        assert "registered nurse or social worker" in text
    for where, text in shown(kb):
        assert not re.search(r"one (real|hard) requirement|only requirement", text), where


# --- 4. what the state figures are --------------------------------------------------------------

STATE_FIGURES = ("$115,104", "$110,955", "$103,499", "$103,154", "$102,658")
NATIONAL = ("$101,340", "$115,000")
NOT_COMPARABLE = re.compile(r"(not|aren't|isn't) directly comparable")


def test_best_paying_only_with_zippias_method(kb: Knowledge):
    assert "job availability" in kb.entries["pay_states"].title
    for where, text in shown(kb):
        if re.search(r"best[- ]paying", text, re.IGNORECASE):
            assert "job availability" in text, where


def test_state_averages_and_national_medians_are_named_as_such(kb: Knowledge):
    named = 0
    for where, text in shown(kb):
        if any(f in text for f in STATE_FIGURES) and any(f in text for f in NATIONAL):
            assert "average" in text and "median" in text and NOT_COMPARABLE.search(text), where
            named += 1
    assert named >= 8  # the salary answers and every state's detail


def test_connecticut_claim_stands_beside_the_median_that_contradicts_it(kb: Knowledge):
    for where, text in shown(kb):
        if "rest of the country" in text:
            assert "$115,000" in text and "below" in text, where


def test_a_user_asking_about_a_state_hears_average_versus_median(engine: Engine):
    engine.handle("states", "how much do healthcare administrators make")
    for state in ("delaware", "connecticut"):
        text = engine.handle("states", f"and in {state}?").plain()
        assert "average" in text and "median" in text and NOT_COMPARABLE.search(text)


# --- 5. words kept as the documents wrote them ---------------------------------------------------


def test_softened_words_are_the_documents_words(kb: Knowledge):
    texts = dict(shown(kb))
    for where, text in texts.items():
        assert "paid for by employers" not in text.lower(), where
        assert "most respected" not in text, where
        assert "MBA covers" not in text, where
    assert "in-house" in kb.entries["pay_benefits"].answer.lower()
    cphq = next(d for d in kb.entries["cert_cphq"].details if d.id == "issuer").answer
    assert "highly regarded" in cphq
    for rid in ("system", "clinical_system"):  # the degree planner's BLS course list
        assert "health administration degrees in general" in result(kb, "degree_planner", rid)
    assert "Zippia" in kb.responses["bot_identity"].text


# --- 6. acronyms the documents don't write stand next to the full name -------------------------

FULL = {
    "ACHCA": "American College of Health Care Administrators",
    "CNHA": "Certified Nursing Home Administrator",
    "CALA": "Certified Assisted Living Administrator",
    "AHIMA": "American Health Information Management Association",
    "AHA": "American Hospital Association",
    "PAHCOM": "Professional Association of Health Care Office Management",
}


def test_undocumented_acronyms_never_stand_alone(kb: Knowledge):
    for where, text in shown(kb):
        for acronym, name in FULL.items():
            if re.search(rf"\b{acronym}\b", text):
                assert name in text, (where, acronym)


# --- gaps filled ---------------------------------------------------------------------------------


def test_which_schools_gets_the_honest_answer(engine: Engine):
    for topic in ("tell me about the mha", "what degree do I need"):
        user = f"schools-{next(counter)}"
        engine.handle(user, topic)
        turn = engine.handle(user, "which schools are best?")
        text = turn.plain()
        assert "don't name or rank any schools" in text and "Ann Arbor, MI (public)" in text
        assert "Zippia" in "; ".join(turn.sources)


@pytest.mark.parametrize("question", ["which schools are best", "top MHA programs?"])
def test_which_schools_asked_cold_gets_the_honest_answer(engine: Engine, question: str):
    turn = engine.handle(f"cold-{next(counter)}", question)  # a new user: no topic to lean on
    assert "don't name or rank any schools" in turn.plain()
    assert "Zippia" in "; ".join(turn.sources)


def test_zippias_example_path_is_on_the_career_ladder(kb: Knowledge):
    ladder = kb.entries["career_ladder"]
    assert "case manager" in ladder.answer and "director of case management" in ladder.answer
    assert "zippia" in ladder.sources
    assert "director of case management" in result(kb, "next_step", "any")


def test_duties_include_improving_efficiency(kb: Knowledge):
    assert "streamline processes" in kb.entries["role_duties"].answer


def test_growth_figures_agree_only_on_the_number(kb: Knowledge):
    outlook = kb.entries["outlook"]
    assert "no period" in outlook.answer
    stable = next(d for d in outlook.details if d.id == "stable").answer
    assert "no period" in stable
