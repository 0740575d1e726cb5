"""Reminders for exams, renewals and CEU deadlines, in layers that import only downwards:

| module | holds |
|---|---|
| ``models.py`` | the reminder and notification types, limits and errors (imports nothing above) |
| ``rules.py`` | schedule and recurrence rules as plain functions (no SQLite, no clock) |
| ``repository.py`` | the notification and reminder rows' SQL, through the store's error mapping |
| ``occurrences.py`` | an occurrence's SQL: a message sent, snoozed or done, the next repeat |
| ``views.py`` | the reply text: confirmations, the list, the reminder message |
| ``service.py`` | ``Reminders``, what channels call on ``engine.reminders`` |
| ``message.py`` | a request's message as words: tokens, misspellings corrected, which are read |
| ``when.py`` | what a request says of when: date, time, lead times, repetition (pure) |
| ``request.py`` | a reminder request in plain words read into slots (pure) |
| ``setup.py`` | a request or ``/remind`` through its questions and one confirmation to Save |
| ``changes.py`` | ``/reminders``' Change date/time and Rename, through their dialogs |
| ``commands.py`` | ``/remind``, ``/reminders``, ``/timezone`` and their buttons, for the engine |

This package's ``__init__`` exports only the models (the notification type itself is in
:mod:`bot.notifications`, below both this package and :mod:`bot.replies`).
"""

from bot.reminders.models import (
    KINDS,
    MAX_REMINDERS,
    AlreadyDone,
    Notification,
    Reminder,
    ReminderError,
)

__all__ = ["KINDS", "MAX_REMINDERS", "AlreadyDone", "Notification", "Reminder", "ReminderError"]
