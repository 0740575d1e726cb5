"""Typed button data: one small model per button kind, packed into Telegram's callback data.

Each kind declares its prefix and its fields in order (as aiogram's ``CallbackData``); ``pack``
joins them with ``:`` and refuses data over 64 bytes, and ``unpack`` reads data back, or gives
None for anything that is not exactly that kind (another prefix, too few or too many parts, an id
that is not one). Button data is untrusted: any client can send any string, so what ``unpack``
accepts is only well-formed; the handler still checks that it names the presser's own rows and
a current dialog run, and the engine answers anything else with the polite stale-button reply.

| prefix | kind | fields | what a press does | personal |
|---|---|---|---|---|
| ``t`` | :class:`Topic` | entry | the entry's answer | no |
| ``m`` | :class:`More` | entry | the entry's longer answer | no |
| ``f`` | :class:`Feedback` | entry, helpful (1/0) | records the vote | no |
| ``menu`` | :class:`Menu` | | the menu | no |
| ``p`` | :class:`Picture` | chart | the chart alone, as a picture | no |
| ``d`` | :class:`StartDialog` | dialog | starts a guided tour | if the tour is |
| ``n`` | :class:`FreshDialog` | dialog | starts it over, re-asking all | if the tour is |
| ``a`` | :class:`Answer` | run, step, option | answers that run's current step | if the tour is |
| ``c`` | :class:`Change` | run, step | re-asks a remembered answer | if the tour is |
| ``r`` | :class:`Resume` | | re-asks the current step | if the tour is |
| ``x`` | :class:`Cancel` | | cancels the tour | no |
| ``forget`` | :class:`Forget` | yes/no | deletes all about the user, or not | yes |
| ``rl`` | :class:`ListReminders` | | lists the user's reminders | yes |
| ``rd`` | :class:`DeleteReminder` | reminder id | deletes that reminder | yes |
| ``rz`` | :class:`Snooze` | notification id, minutes (1-10080) | sends it again later | yes |
| ``rn`` | :class:`Done` | notification id | ends that occurrence | yes |
| ``tz`` | :class:`ZoneChoice` | move/keep | moves reminders to the new zone, or not | yes |
| ``zs`` | :class:`SetZone` | zone | sets the zone a "did you mean" suggested | yes |
| ``rs`` | :class:`SaveReminder` | run | saves the reminder the confirmation shows | yes |
| ``re`` | :class:`EditDraft` | run | lists the fields of that reminder to change | yes |
| ``rp`` | :class:`PickDate` | run, date (ISO) | answers that run's date ("did you mean") | yes |
| ``rw`` | :class:`ChangeWhen` | reminder id | asks a new date and time for it | yes |
| ``rr`` | :class:`RenameReminder` | reminder id | asks a new name for it | yes |

"If the tour is": a tour run by a personal command (``/remind``) or ending in an action. The
formats are the ones sent before this module existed, so buttons already in users' chats keep
working. Retired prefixes (``rk``, once "keep this reminder") are not registered and get the
stale-button reply.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.replies import MAX_CALLBACK

SEPARATOR = ":"
ROW_ID = re.compile(r"[0-9]{1,12}")  # ids in button data: ASCII digits that fit SQLite
DONE = "_done"  # the option of a multi-choice step's "Done" button
WORD = re.compile(r"[A-Za-z0-9_]{1,40}")  # entry, dialog, step and option ids, run nonces
ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-/]{0,49}")  # an IANA name: America/New_York, Etc/GMT+5
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _matching(
    pattern: re.Pattern[str], what: str, *, strings_only: bool = False
) -> BeforeValidator:
    """A field check: a string must be all ``pattern``; other values are the type's to judge
    (with ``strings_only``, refused)."""

    def check(value: object) -> object:
        fits = pattern.fullmatch(value) is not None if isinstance(value, str) else not strings_only
        if not fits:
            raise ValueError(f"not {what}")
        return value

    return BeforeValidator(check)


def _flag(value: object) -> object:
    if isinstance(value, str):
        if value not in ("0", "1"):
            raise ValueError("not 0 or 1")
        return value == "1"
    return value


# "²", "①", " 1", "+1" and 20 digits are no row id; a timestamp or "2027-3-4" is no date here
RowId = Annotated[int, _matching(ROW_ID, "a row id")]
ZoneName = Annotated[str, _matching(ZONE, "a zone name", strings_only=True)]
IsoDate = Annotated[dt.date, _matching(ISO_DATE, "an ISO date")]
Word = Annotated[str, _matching(WORD, "an id", strings_only=True)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class ButtonData(BaseModel):
    """A button kind: ``class Topic(ButtonData, prefix="t")`` with its fields in order (fields
    several kinds share come first, from a base declared with ``shared=True``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    prefix: ClassVar[str]
    personal: ClassVar[bool]  # reads or changes the user's own data: private chats only
    kinds: ClassVar[dict[str, type[ButtonData]]] = {}

    def __init_subclass__(
        cls, prefix: str = "", personal: bool = False, shared: bool = False, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if shared:  # fields several kinds have in common; no kind of its own
            return
        if not prefix or SEPARATOR in prefix:
            raise TypeError(f"{cls.__name__}: a button kind needs a prefix without {SEPARATOR!r}")
        if prefix in ButtonData.kinds:
            raise TypeError(f"{cls.__name__}: prefix {prefix!r} is taken")
        cls.prefix = prefix
        cls.personal = personal
        ButtonData.kinds[prefix] = cls

    def pack(self) -> str:
        """The callback data: the prefix and each field, ``:``-separated, at most 64 bytes."""
        parts = [self.prefix]
        for name in type(self).model_fields:
            value = getattr(self, name)
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            if SEPARATOR in text or not text:
                raise ValueError(f"{type(self).__name__}.{name} cannot be packed: {text!r}")
            parts.append(text)
        data = SEPARATOR.join(parts)
        if len(data.encode()) > MAX_CALLBACK:
            raise ValueError(f"callback data over {MAX_CALLBACK} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str) -> Self | None:
        """This kind read back from ``data``; None if ``data`` is anything else."""
        prefix, *values = data.split(SEPARATOR)
        fields = list(cls.model_fields)
        if prefix != cls.prefix or len(values) != len(fields):
            return None
        try:
            return cls.model_validate(dict(zip(fields, values, strict=True)))
        except ValidationError:
            return None


def unpack(data: str) -> ButtonData | None:
    """Whatever kind ``data`` is, read back; None when it is no known kind (stale or forged)."""
    if len(data.encode()) > MAX_CALLBACK:
        return None
    kind = ButtonData.kinds.get(data.split(SEPARATOR, 1)[0])
    return kind.unpack(data) if kind else None


# --- fields several kinds share ---------------------------------------------------------------


class _OnEntry(ButtonData, shared=True):
    entry: Word


class _OfDialog(ButtonData, shared=True):
    dialog: Word


class _InRun(ButtonData, shared=True):
    run: Word


class _OnReminder(ButtonData, shared=True):
    reminder: RowId


class _OnNotification(ButtonData, shared=True):
    notification: RowId


# --- answers and the knowledge ---------------------------------------------------------------


class Topic(_OnEntry, prefix="t"):
    """Show an entry's answer."""


class More(_OnEntry, prefix="m"):
    """Show an entry's longer answer."""


class Feedback(_OnEntry, prefix="f"):
    """A helpful / not helpful vote on an entry."""

    helpful: Flag


class Menu(ButtonData, prefix="menu"):
    """Show the menu."""


class Picture(ButtonData, prefix="p"):
    """Show a chart (``knowledge/charts.yaml``) alone, as a picture ("Show as picture")."""

    chart: Word


# --- guided tours ------------------------------------------------------------------------------


class StartDialog(_OfDialog, prefix="d"):
    """Start a guided tour, reusing remembered answers."""


class FreshDialog(_OfDialog, prefix="n"):
    """Start a guided tour over, re-asking remembered answers."""


class Answer(_InRun, prefix="a"):
    """Pick an option of a step, in one run of a tour."""

    step: Word
    option: Word


class Change(_InRun, prefix="c"):
    """Re-ask a remembered answer, in one run of a tour."""

    step: Word


class Resume(ButtonData, prefix="r"):
    """Ask the current step of the tour again (after a question typed mid-tour)."""


class Cancel(ButtonData, prefix="x"):
    """Cancel the tour."""


class Forget(ButtonData, prefix="forget", personal=True):
    """Confirm or refuse /forget."""

    answer: Literal["yes", "no"]


# --- reminders and time zones -------------------------------------------------------------------


class ListReminders(ButtonData, prefix="rl", personal=True):
    """List the user's reminders."""


class DeleteReminder(_OnReminder, prefix="rd", personal=True):
    """Delete one of the user's reminders."""


class Snooze(_OnNotification, prefix="rz", personal=True):
    """Send a delivered reminder message again in ``minutes``."""

    minutes: Annotated[RowId, Field(gt=0, le=7 * 1440)]  # a minute to a week


class Done(_OnNotification, prefix="rn", personal=True):
    """End the occurrence a reminder message is about."""


class ZoneChoice(ButtonData, prefix="tz", personal=True):
    """After a time-zone change: move the reminders set in other zones, or keep them."""

    choice: Literal["move", "keep"]


class SetZone(ButtonData, prefix="zs", personal=True):
    """Set the time zone a "did you mean" suggested (the press checks it is a real zone)."""

    zone: ZoneName


class SaveReminder(_InRun, prefix="rs", personal=True):
    """Save the reminder the set-up run's confirmation shows."""


class EditDraft(_InRun, prefix="re", personal=True):
    """Show what of the set-up run's reminder can be changed, before it is saved."""


class PickDate(_InRun, prefix="rp", personal=True):
    """Take this date for the run's date ("did you mean 3 April?", or keep the current one)."""

    day: IsoDate


class ChangeWhen(_OnReminder, prefix="rw", personal=True):
    """Ask a new date and time for one of the user's reminders."""


class RenameReminder(_OnReminder, prefix="rr", personal=True):
    """Ask a new name for one of the user's reminders."""
