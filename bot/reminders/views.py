"""The reminders' reply text: confirmations, the list, and the reminder message itself."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.buttons import ChangeWhen, DeleteReminder, Done, ListReminders, RenameReminder, Snooze
from bot.dates import describe_lead, example_date
from bot.knowledge import Knowledge
from bot.reminders.models import KINDS, REPEATS, Notification, Reminder, Saved
from bot.replies import Button, Reply, short

MY_REMINDERS = Button("My reminders", ListReminders().pack())


def saved(result: Saved, heading: str = "Saved") -> Reply:
    """The confirmation of a saved (or changed: ``heading``) reminder: when, and each message
    it will send."""
    reminder = result.reminder
    if result.duplicate:
        return Reply(
            f"You already have this reminder: {reminder.title}, {reminder.when()}. "
            "Nothing new was saved.",
            title="Already set",
            buttons=[MY_REMINDERS],
        )
    zone = ZoneInfo(reminder.tz)
    lines = [f"{heading}: {reminder.title} ({KINDS[reminder.kind]})", f"When: {reminder.when()}"]
    if reminder.tz == "UTC":
        lines.append("Your time zone is UTC until you set yours, e.g. /timezone Europe/Berlin")
    lines.append("I'll message you:")
    for lead, fire_at in result.scheduled:
        moment = dt.datetime.fromtimestamp(fire_at, zone)
        lines.append(
            f"• {moment:%a} {moment.day} {moment:%b %Y} {moment:%H:%M} "
            f"({describe_lead(dt.timedelta(minutes=lead))})"
        )
    skipped = [lead for lead in reminder.leads if lead not in {s[0] for s in result.scheduled}]
    if skipped:
        gone = ", ".join(describe_lead(dt.timedelta(minutes=m)) for m in skipped)
        lines.append(f"(Skipped, already past: {gone}.)")
    if reminder.repeat != "none":
        lines.append(f"Repeats {REPEATS[reminder.repeat]}.")
    title = "Reminder saved" if heading == "Saved" else f"Reminder {heading.lower()}"
    return Reply("\n".join(lines), title=title, buttons=[MY_REMINDERS])


def listing(upcoming: list[tuple[Reminder, float | None]], today: dt.date) -> Reply:
    """The user's upcoming reminders, each with change, rename and delete buttons; with none,
    how to set one (the example dated from ``today``, the user's)."""
    if not upcoming:
        return Reply(
            "You have no reminders. Set one with /remind, or in one line: "
            f"/remind {example_date(today).isoformat()} 09:00 CMM exam",
            title="Your reminders",
        )
    lines: list[str] = []
    buttons: list[Button] = []
    for n, (reminder, next_at) in enumerate(upcoming, start=1):
        extra = ""
        if next_at is not None:
            moment = dt.datetime.fromtimestamp(next_at, ZoneInfo(reminder.tz))
            extra = f"; next message {moment:%d %b %Y %H:%M}"
        repeat = f", {REPEATS[reminder.repeat]}" if reminder.repeat != "none" else ""
        lines.append(f"{n}. {reminder.title}: {reminder.when()}{repeat}{extra}")
        buttons += [
            Button(short(f"Change date/time {n}."), ChangeWhen(reminder=reminder.id).pack()),
            Button(short(f"Rename {n}."), RenameReminder(reminder=reminder.id).pack()),
            Button(
                short(f"Delete {n}. {reminder.title}"), DeleteReminder(reminder=reminder.id).pack()
            ),
        ]
    return Reply("\n".join(lines), title="Your reminders", buttons=buttons)


def draft(
    title: str,
    kind: str,
    when: str,
    leads: list[int],
    repeat: str,
    notes: list[str],
    buttons: list[Button],
) -> Reply:
    """The one confirmation before a reminder is stored: what it will be, and Save / Change."""
    lines = [f"Reminder: {title} ({KINDS[kind]})", f"When: {when}"]
    if leads:
        said = ", ".join(
            describe_lead(dt.timedelta(minutes=m)) for m in sorted(leads, reverse=True)
        )
        lines.append(f"I'll message you: {said}")
    if repeat in REPEATS and repeat != "none":
        lines.append(f"Repeats {REPEATS[repeat]}.")
    lines += notes
    lines.append("Save it?")
    return Reply("\n".join(lines), title="New reminder", buttons=buttons)


def message(
    kb: Knowledge,
    reminder: Reminder,
    notification: Notification,
    *,
    now: float,
    online_since: float,
    late_after: float,
) -> Reply:
    """The reminder message: what, when, how soon, late or not, and the credential's facts.

    It says it is late when it was due before ``online_since`` (when the channel started
    sending, so it was offline then) and is over ``late_after`` seconds past its time.
    """
    day = dt.date.fromisoformat(notification.occurrence)
    event = reminder.event(day).timestamp()
    lines: list[str] = []
    if notification.fire_at < online_since and now - notification.fire_at > late_after:
        due = dt.datetime.fromtimestamp(notification.fire_at, ZoneInfo(reminder.tz))
        lines.append(f"(Late: this was due {due:%d %b %Y %H:%M}, while I was offline. Sorry!)")
    lines.append(f"{reminder.title} ({KINDS[reminder.kind]}): {reminder.when(day)}")
    if event > now:
        lines.append(f"That is {until(event - now)} from now.")
    else:
        lines.append("That is now." if now - event < 3600 else "That moment has passed.")
    sources: list[str] = []
    entry = kb.entries.get(reminder.entry or "")
    if entry:
        wanted = "renewal" if reminder.kind in ("renewal", "ceu") else "eligibility"
        detail = next((d for d in entry.details if d.id == wanted), None)
        lines += ["", f"About {entry.title}:", detail.answer if detail else entry.answer]
        sources = kb.cite(detail.sources if detail and detail.sources else entry.sources)
    buttons = [
        Button("Snooze 1 hour", Snooze(notification=notification.id, minutes=60).pack()),
        Button("Snooze 1 day", Snooze(notification=notification.id, minutes=1440).pack()),
        Button("Done", Done(notification=notification.id).pack()),
    ]
    return Reply("\n".join(lines), title="⏰ Reminder", sources=sources, buttons=buttons)


def until(seconds: float) -> str:
    """How long ``seconds`` is, as a person says it: "3 days", "5 hours", "1 minute"."""
    days = int(seconds // 86400)
    if days >= 2:
        return f"{days} days"
    hours = int(seconds // 3600)
    if hours >= 2:
        return f"{hours} hours"
    minutes = max(1, int(seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
