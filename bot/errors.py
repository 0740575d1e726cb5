"""The one error type meant for the user's eyes.

A :class:`UserError` is raised where a request cannot be carried out for a reason the user can
fix (a date in the past, a title too long, an unknown time zone); its ``str()`` is the message,
one line or two, and the engine sends it as the reply. Every other exception is a fault of the
bot: the engine logs it and the user gets the generic apology, never the exception's text.
"""

from __future__ import annotations


class UserError(Exception):
    """A request the bot cannot carry out as asked; ``str()`` is the message for the user."""
