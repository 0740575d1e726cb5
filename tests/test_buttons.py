"""Typed button data: each kind packs and unpacks to the formats already sent to users."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.buttons import (
    Answer,
    ButtonData,
    Cancel,
    Change,
    ChangeWhen,
    DeleteReminder,
    Done,
    EditDraft,
    Feedback,
    Forget,
    FreshDialog,
    ListReminders,
    Menu,
    More,
    PickDate,
    Picture,
    RenameReminder,
    Resume,
    SaveReminder,
    SetZone,
    Snooze,
    StartDialog,
    Topic,
    ZoneChoice,
    unpack,
)
from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.replies import MAX_LABEL
from bot.texts import topic_button

# data as the bot has written it, before the codec existed and since (still in users' chats)
SENT_BEFORE = {
    "t:cert_fache": Topic(entry="cert_fache"),
    "m:cert_fache": More(entry="cert_fache"),
    "p:pay_by_setting": Picture(chart="pay_by_setting"),
    "d:degree_planner": StartDialog(dialog="degree_planner"),
    "n:degree_planner": FreshDialog(dialog="degree_planner"),
    "c:c88619:credential": Change(run="c88619", step="credential"),
    "r": Resume(),
    "x": Cancel(),
    "menu": Menu(),
    "rn:7": Done(notification=7),
    "rs:k2j9": SaveReminder(run="k2j9"),
    "re:k2j9": EditDraft(run="k2j9"),
    "rp:k2j9:2030-04-03": PickDate(run="k2j9", day=dt.date(2030, 4, 3)),
    "rw:12": ChangeWhen(reminder=12),
    "rr:12": RenameReminder(reminder=12),
    "zs:America/New_York": SetZone(zone="America/New_York"),
    "f:pay_median:0": Feedback(entry="pay_median", helpful=False),
    "a:c88619:credential:cert_cmm": Answer(run="c88619", step="credential", option="cert_cmm"),
    "rd:12": DeleteReminder(reminder=12),
    "rz:7:1440": Snooze(notification=7, minutes=1440),
    "rl": ListReminders(),
    "tz:move": ZoneChoice(choice="move"),
    "forget:yes": Forget(answer="yes"),
}


@pytest.mark.parametrize(("data", "kind"), SENT_BEFORE.items())
def test_old_data_reads_as_its_kind_and_packs_back_the_same(data: str, kind: ButtonData):
    assert unpack(data) == kind
    assert kind.pack() == data


def test_every_kind_has_its_data_above():
    assert {type(kind) for kind in SENT_BEFORE.values()} == set(ButtonData.kinds.values())


@pytest.mark.parametrize(
    "data",
    [
        "rk:1",  # a retired prefix
        "rp:k2j9:2030-4-3",
        "zs:1abc",
        "c:c88619",
        "rz:1:0",  # a snooze of no time
        "rz:1:99999",  # over a week
        "rd:²",
        "rd:99999999999999999999",
        "rd: 1",
        "f:pay_median:",
        "f:pay_median:yes",
        "t:cert_fache:extra",
        "T:CERT_FACHE",
        "rl:",
        "tz:later",
        "",
        "a:" + "x" * 70,
    ],
)
def test_malformed_or_unknown_data_reads_as_nothing(data: str):
    assert unpack(data) is None


def test_pack_refuses_what_would_not_come_back():
    with pytest.raises(ValueError, match="64 bytes"):
        Answer(run="r" * 20, step="s" * 20, option="o" * 30).pack()
    with pytest.raises(TypeError, match="taken"):

        class Again(ButtonData, prefix="t"):
            pass


# --- labels: what a button naming an entry says --------------------------------------------------


def test_a_long_title_s_button_says_the_entry_s_label_whole(engine: Engine):
    """ "Where to look up your state's licensing rules" does not fit on a button: the related
    topics' buttons say the names the data gives them, not a title cut short."""
    [answer] = engine.handle("labels", "how do i become a nursing home admin").replies
    labels = [b.label for b in answer.buttons]
    assert "Your state's licensing rules" in labels
    assert "CNHA (nursing home administrator)" in labels
    assert not [label for label in labels if label.endswith("…")]


def test_a_long_title_without_a_label_is_cut_at_a_word(kb: Knowledge):
    entry = kb.entries["license_lookup"].model_copy(update={"label": None})
    assert topic_button(entry).label == "Where to look up your state's…"


def test_every_shipped_entry_s_button_name_fits_whole(kb: Knowledge):
    assert not [e.id for e in kb.entries.values() if len(topic_button(e).label) > MAX_LABEL]
    assert not [e.id for e in kb.entries.values() if topic_button(e).label.endswith("…")]
