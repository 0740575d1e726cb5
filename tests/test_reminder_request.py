"""bot.reminders.request: which messages ask for a reminder, and the slots their words fill.

Now is Wednesday 2 December 2026, 10:00 in New York. Every row states all the slots the
message must yield; a slot a row leaves out must come back empty.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.dates import MonthOnly
from bot.knowledge import Knowledge
from bot.reminders.request import DEFAULT_TIME, ReminderRequest, RequestReader

ZONE = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=ZONE)
D = dt.date
T = dt.time
WEEK, DAY = 7 * 1440, 1440

# what each message must yield; credential, kind, title, date, alternative, month, time (None:
# not given), leads, repeat
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    # the issue's own examples
    (
        "remind me about my CMM exam on March 14 at 9am",
        {"credential": "cert_cmm", "kind": "exam", "date": D(2027, 3, 14), "time": T(9, 0)},
    ),
    (
        "my CPHQ exam is on 3 May, ping me two weeks before",
        {"credential": "cert_cphq", "kind": "exam", "date": D(2027, 5, 3), "leads": (2 * WEEK,)},
    ),
    (
        "remind me to renew FACHE next June",
        {"credential": "cert_fache", "kind": "renewal", "month": (2027, 6)},
    ),
    (
        "set a reminder for my CEUs at the end of the year",
        {"kind": "ceu", "title": "CEUs", "date": D(2026, 12, 31)},
    ),
    # texting, short, typos
    (
        "remind me to renew my fache next june",
        {"credential": "cert_fache", "kind": "renewal", "month": (2027, 6)},
    ),
    (
        "remind me abt my cmm test tmrw morning",
        {"credential": "cert_cmm", "kind": "exam", "date": D(2026, 12, 3), "time": T(9, 0)},
    ),
    (
        "pls remind me every year on jan 15 to renew my cphm",
        {"credential": "cert_cphm", "kind": "renewal", "date": D(2027, 1, 15), "repeat": "yearly"},
    ),
    (
        "reminder: cnha exam in 3 weeks",
        {"credential": "cert_cnha", "kind": "exam", "date": D(2026, 12, 23)},
    ),
    (
        "remind me when my fache is due for renewal",
        {"credential": "cert_fache", "kind": "renewal"},
    ),
    (
        "ping me a month before my cphq recert on 2027-06-30",
        {
            "credential": "cert_cphq",
            "kind": "renewal",
            "date": D(2027, 6, 30),
            "leads": (30 * DAY,),
        },
    ),
    (
        "remind me to renew my fachee by the end of the month, 2 weeks before and on the day",
        {
            "credential": "cert_fache",
            "kind": "renewal",
            "date": D(2026, 12, 31),
            "leads": (2 * WEEK, 0),
        },
    ),
    (
        "yo remind me cpqh exam 14/3 9:30am",
        {"credential": "cert_cphq", "kind": "exam", "date": D(2027, 3, 14), "time": T(9, 30)},
    ),
    (
        "remind me about my nab exam next wednesday at 3",
        {"credential": "license_nha", "kind": "exam", "date": D(2026, 12, 9), "time": T(15, 0)},
    ),
    (
        "dont let me forget my cphq renewal 3/4, a week before and the day before",
        {
            "credential": "cert_cphq",
            "kind": "renewal",
            "date": D(2027, 3, 4),
            "alternative": D(2027, 4, 3),
            "leads": (WEEK, DAY),
        },
    ),
    (
        "Remind me to call the ACHE office on Friday at 2pm",
        {
            "kind": "other",
            "title": "Call the ACHE office",
            "date": D(2026, 12, 4),
            "time": T(14, 0),
        },
    ),
    (
        "can you remind me about my CHFP exam on the 14th?",
        {"credential": "cert_chfp", "kind": "exam", "date": D(2026, 12, 14)},
    ),
    (
        "could u set a reminder for my ceus at end of year",
        {"kind": "ceu", "title": "Ceus", "date": D(2026, 12, 31)},
    ),
    (
        "Please remind me that my CMPE exam is on 2027-04-10 at 08:30",
        {"credential": "cert_cmpe", "kind": "exam", "date": D(2027, 4, 10), "time": T(8, 30)},
    ),
    (
        "remind me in 2 weeks to register for the CPHRM exam",
        {"credential": "cert_cphrm", "kind": "exam", "date": D(2026, 12, 16)},
    ),
    (
        "REMIND ME CMM EXAM MARCH 14 9AM",
        {"credential": "cert_cmm", "kind": "exam", "date": D(2027, 3, 14), "time": T(9, 0)},
    ),
    (
        "remind me next friday about my cala exam",
        {
            "credential": "cert_cala",
            "kind": "exam",
            "date": D(2026, 12, 4),
            "alternative": D(2026, 12, 11),
        },
    ),
    # long, the way people write when they explain
    (
        "Hi! I'm sitting the CPHQ on 20 January 2027. Could you remind me a week before and "
        "the day before? Thanks",
        {"credential": "cert_cphq", "kind": "exam", "date": D(2027, 1, 20), "leads": (WEEK, DAY)},
    ),
    (
        "my fache expires june 2027, let me know a month before",
        {"credential": "cert_fache", "kind": "renewal", "month": (2027, 6), "leads": (30 * DAY,)},
    ),
    (
        "heads up 2 days before my cmm exam on 2/10 pls",
        {
            "credential": "cert_cmm",
            "kind": "exam",
            "date": D(2027, 2, 10),
            "alternative": D(2027, 10, 2),
            "leads": (2 * DAY,),
        },
    ),
    (
        "remind me to do my CEU hours before the end of the month",
        {"kind": "ceu", "title": "Do my CEU hours", "date": D(2026, 12, 31)},
    ),
    (
        "remind me every month to log my ce credits",
        {"kind": "ceu", "title": "Log my ce credits", "repeat": "monthly"},
    ),
    (
        "nudge me on monday at 7:45am re my cphm exam",
        {"credential": "cert_cphm", "kind": "exam", "date": D(2026, 12, 7), "time": T(7, 45)},
    ),
    (
        "set a reminder: CPHRM renewal, 2027-09-01, 30 days before and 7 days before",
        {
            "credential": "cert_cphrm",
            "kind": "renewal",
            "date": D(2027, 9, 1),
            "leads": (30 * DAY, 7 * DAY),
        },
    ),
    (
        "remind me tomorrow at 8am to study for the cmm",
        {"credential": "cert_cmm", "date": D(2026, 12, 3), "time": T(8, 0)},
    ),
    (
        "remind me to renew my nursing home administrator license next march",
        {"credential": "license_nha", "kind": "renewal", "month": (2027, 3)},
    ),
    (
        "dont let me forget the RHIA exam in a fortnight",
        {"credential": "cert_him", "kind": "exam", "date": D(2026, 12, 16)},
    ),
    (
        "remind me tonight to pay the ACHE dues",
        {"kind": "other", "title": "Pay the ACHE dues", "date": D(2026, 12, 2), "time": T(20, 0)},
    ),
    (
        "remind me about my fache renewal on 12/31 at noon",
        {"credential": "cert_fache", "kind": "renewal", "date": D(2026, 12, 31), "time": T(12, 0)},
    ),
    (
        "remind me to take the CMM on 1 March 2027, 3 days prior",
        {"credential": "cert_cmm", "kind": "exam", "date": D(2027, 3, 1), "leads": (3 * DAY,)},
    ),
    (
        "ping me in 10 days re: cphq recertification",
        {"credential": "cert_cphq", "kind": "renewal", "date": D(2026, 12, 12)},
    ),
    (
        "remind me of my cnha renewal on june 3",
        {"credential": "cert_cnha", "kind": "renewal", "date": D(2027, 6, 3)},
    ),
    (
        "remind me thursday afternoon to email my boss about the CHFP",
        {"credential": "cert_chfp", "date": D(2026, 12, 3), "time": T(14, 0)},
    ),
    (
        "Remind me about the CPHQ exam on 3/14/2027 at 10:15",
        {"credential": "cert_cphq", "kind": "exam", "date": D(2027, 3, 14), "time": T(10, 15)},
    ),
    (
        "remnid me my cmm exam is on march 3rd",
        {"credential": "cert_cmm", "kind": "exam", "date": D(2027, 3, 3)},
    ),
    (
        "set a reminder for my FACHE renewal at the end of next year, every year",
        {
            "credential": "cert_fache",
            "kind": "renewal",
            "date": D(2027, 12, 31),
            "repeat": "yearly",
        },
    ),
    (
        "I have my CPHM exam on Feb 20, remind me 1 week before",
        {"credential": "cert_cphm", "kind": "exam", "date": D(2027, 2, 20), "leads": (WEEK,)},
    ),
    (
        "can you ping me the morning of my cmpe exam on 5/20",
        {"credential": "cert_cmpe", "kind": "exam", "date": D(2027, 5, 20), "leads": (0,)},
    ),
    (
        "remind me to renew my cphq every year on 2027-01-31",
        {"credential": "cert_cphq", "kind": "renewal", "date": D(2027, 1, 31), "repeat": "yearly"},
    ),
    (
        "remind me on 2027-03-14 about my exam",
        {"kind": "exam", "title": "Exam", "date": D(2027, 3, 14)},
    ),
    ("remind me in 3 weeks", {"date": D(2026, 12, 23)}),
    ("remind me about the fache", {"credential": "cert_fache"}),
    (
        "remind me 2 weeks before my CPHQ exam on March 3 and on the day",
        {"credential": "cert_cphq", "kind": "exam", "date": D(2027, 3, 3), "leads": (2 * WEEK, 0)},
    ),
    (
        "remind me to renew my cala at the start of next month",
        {"credential": "cert_cala", "kind": "renewal", "date": D(2027, 1, 1)},
    ),
    (
        "remind me about my cmm exam mid january",
        {"credential": "cert_cmm", "kind": "exam", "date": D(2027, 1, 15)},
    ),
    (
        "alert me 3 hours before my cphrm exam tomorrow at 1pm",
        {
            "credential": "cert_cphrm",
            "kind": "exam",
            "date": D(2026, 12, 3),
            "time": T(13, 0),
            "leads": (180,),
        },
    ),
    (
        "my fache is up for renewal next year, remind me in november",
        {"credential": "cert_fache", "kind": "renewal", "month": (2027, 11)},
    ),
    (
        "remind me in 30 mins to call the ache office",
        {
            "kind": "other",
            "title": "Call the ache office",
            "date": D(2026, 12, 2),
            "time": T(10, 30),
        },
    ),
    ("ping me abt ceus due end of jan", {"kind": "ceu", "title": "Ceus", "date": D(2027, 1, 31)}),
]

NOT_REQUESTS = [
    "what does renewing the CPHQ involve",
    "how long is FACHE valid",
    "when is the CPHQ exam offered",
    "remind me what FACHE stands for",
    "remind me how long the cmm is valid",
    "remind me when the cphq exam is offered",
    "how do I set a reminder?",
    "delete my reminder",
    "show my reminders",
    "don't remind me about the fache",
    "i got a reminder email about my renewal, what now",
    "the remainder of my ceus are due next month, what counts?",
    "what happens if my fache expires next june?",
    "how many CEUs do I need for the CPHQ?",
    "is the cmm exam hard",
    "tell me about the fache exam in june",
    "remind me of the fache requirements",
    "let me know what the cphq requires",
    "cancel the reminder for my cmm exam",
    "can i renew my fache early?",
    "fache vs cmm",
    "my cphq exam is next week, any tips?",
    "this reminds me, what is a cphm?",
    "stop reminding me",
    "",
    "🙂",
]


@pytest.fixture(scope="module")
def reader(kb: Knowledge) -> RequestReader:
    assert kb.reminder_words is not None
    return RequestReader(kb.reminder_words)


def slots(request: ReminderRequest) -> dict[str, Any]:
    """The slots a row states, as the row spells them."""
    return {
        "credential": request.credential,
        "kind": request.kind,
        "title": request.title,
        "date": request.date,
        "alternative": request.date_alternative,
        "month": (request.month.year, request.month.month) if request.month else None,
        "time": request.time if request.time_given else None,
        "leads": request.leads,
        "repeat": request.repeat,
    }


EMPTY = {
    "credential": None,
    "kind": None,
    "title": None,
    "date": None,
    "alternative": None,
    "month": None,
    "time": None,
    "leads": (),
    "repeat": None,
}


def test_the_table_is_as_large_as_the_issue_asks():
    assert len(REQUESTS) + len(NOT_REQUESTS) >= 60
    assert len(NOT_REQUESTS) >= 15


@pytest.mark.parametrize(("text", "expected"), REQUESTS, ids=[t for t, _ in REQUESTS])
def test_a_request_fills_the_slots_its_words_give(reader, text, expected):
    request = reader.read(text, ZONE, NOW)
    assert request.is_request
    assert slots(request) == {**EMPTY, **expected}
    assert request.date_problem is None


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_questions_and_talk_about_reminders_start_none(reader, text):
    request = reader.read(text, ZONE, NOW)
    assert request == ReminderRequest(is_request=False)
    assert request.missing == ()


# --- what the dialog is told --------------------------------------------------------------------


def test_no_time_means_nine_in_the_users_zone_and_says_so(reader):
    request = reader.read("remind me about my cmm exam on 2027-03-14", ZONE, NOW)
    assert (request.time, request.time_given) == (DEFAULT_TIME, False)
    assert "No time given, so 09:00 (America/New_York)." in request.notes
    assert request.missing == ()


def test_a_month_without_a_day_asks_for_the_day(reader):
    request = reader.read("remind me to renew FACHE next June", ZONE, NOW)
    assert request.month == MonthOnly(2027, 6, "I took next June to mean June 2027.")
    assert request.date is None
    assert request.missing == ("day",)
    assert request.notes[0] == "I took next June to mean June 2027."


def test_an_ambiguous_date_is_asked_about_with_both_readings(reader):
    request = reader.read("remind me about my cphq exam on 3/4", ZONE, NOW)
    assert (request.date, request.date_alternative) == (D(2027, 3, 4), D(2027, 4, 3))
    assert request.missing == ("date",)
    assert request.notes[0] == "I read 3/4 as 4 March 2027 (month/day, US style)."


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("remind me about my cmm exam on 2025-05-01", "That date is in the past."),
        (
            "remind me about my cmm exam on 31 april 2027",
            "31 april 2027 is not a real date: April 2027 has 30 days.",
        ),
        (
            "remind me to renew my fache in 2040 on 2040-01-01",
            "That date is more than 10 years ahead; pick one up to 2 December 2036.",
        ),
        (
            "remind me today at 8am to call ACHE",
            "That time is already past today. Pick a later time.",
        ),
    ],
)
def test_a_date_that_cannot_be_used_is_named_with_its_reason(reader, text, problem):
    request = reader.read(text, ZONE, NOW)
    assert request.is_request
    assert request.date is None
    assert request.date_problem == problem
    assert "date" in request.missing


def test_today_is_the_users_today():
    # 23:30 on 2 December in New York is already 3 December in UTC and Tokyo
    late = dt.datetime(2026, 12, 3, 4, 30, tzinfo=dt.UTC)
    words = _reader()
    assert words.read("remind me tomorrow about my cmm exam", ZONE, late).date == D(2026, 12, 3)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert words.read("remind me tomorrow about my cmm exam", tokyo, late).date == D(2026, 12, 4)


def test_two_credentials_named_leave_the_choice_to_the_user(reader):
    request = reader.read("remind me about my fache and cphq renewals in june", ZONE, NOW)
    assert request.credential is None
    assert request.credentials == ("cert_fache", "cert_cphq")
    assert request.missing == ("subject", "day")


def test_a_repeat_reminders_cannot_do_is_said_not_guessed(reader):
    request = reader.read("remind me to renew my fache every 3 years on 2027-06-01", ZONE, NOW)
    assert request.repeat is None
    assert request.date == D(2027, 6, 1)
    assert any("every year or every month, not every 3 years" in n for n in request.notes)


def test_a_very_long_message_is_read_without_trouble(reader):
    text = "remind me about my cmm exam on march 14 " + "and so on " * 2000
    request = reader.read(text, ZONE, NOW)
    assert (request.credential, request.date) == ("cert_cmm", D(2027, 3, 14))


def _reader() -> RequestReader:
    from bot.knowledge import load

    words = load().reminder_words
    assert words is not None
    return RequestReader(words)


# --- the data -----------------------------------------------------------------------------------


def test_check_names_a_credential_that_is_not_in_the_knowledge(capsys, data_copy: Path):
    from bot.cli import main

    path = data_copy / "intents" / "reminder_words.yaml"
    path.write_text(path.read_text().replace("  cert_cmm: [", "  cert_cmmx: ["))
    assert main(["check", str(data_copy)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:" in out and "entry 'cert_cmmx' does not exist" in out


def test_check_names_a_credential_name_given_to_two_entries(capsys, data_copy: Path):
    from bot.cli import main

    path = data_copy / "intents" / "reminder_words.yaml"
    path.write_text(path.read_text().replace("  cert_cmm: [cmm,", "  cert_cmm: [cphq,"))
    assert main(["check", str(data_copy)]) == 1
    said = "credential name 'cphq' is claimed by 'cert_cmm' and 'cert_cphq'"
    assert said in capsys.readouterr().out


def test_the_words_are_data_a_curator_can_extend(kb: Knowledge, tmp_path: Path):
    assert kb.reminder_words is not None
    words = kb.reminder_words.model_copy(
        update={"triggers": [*kb.reminder_words.triggers, "put in my calendar"]}
    )
    text = "put in my calendar my cmm exam on 2027-03-14"
    assert not RequestReader(kb.reminder_words).read(text, ZONE, NOW).is_request
    assert RequestReader(words).read(text, ZONE, NOW).credential == "cert_cmm"


def test_no_knowledge_question_the_bot_is_measured_on_starts_a_reminder(reader, kb: Knowledge):
    """The labelled and realistic sets, the intents' examples and the off-topic examples."""
    import yaml

    data = Path(__file__).parent / "data"
    questions = [
        example["text"]
        for name in ("labelled.yaml", "realistic.yaml")
        for example in yaml.safe_load((data / name).read_text())["examples"]
    ]
    questions += [e for intent in kb.intents.values() for e in intent.examples]
    questions += kb.out_of_scope
    assert len(questions) > 3000
    started = [q for q in questions if reader.read(q, ZONE, NOW).is_request]
    assert started == []
