"""The notification type: one reminder message to send at a moment.

Below both the engine's :class:`~bot.replies.Turn` (which hands new notifications to channels)
and the reminders package (which makes them), so neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notification:
    """One message to send: which reminder, when (UTC epoch), and for which occurrence."""

    id: int
    reminder_id: int
    user_id: str
    fire_at: float
    lead: int
    occurrence: str
