"""How a feature (reminders) plugs into the engine without importing it.

A feature hands the engine a :class:`Feature`: its commands, its button presses (by button
kind), the dialog validators, prompts and actions it provides, typed text it understands before
the matcher does (a reminder asked for in plain words), and what to do when a user who had
blocked the bot writes again. The engine looks commands and presses up in tables built from
these; the feature never sees the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.buttons import ButtonData
from bot.dialogs import Action, Prompt, Validator
from bot.notifications import Notification
from bot.replies import Turn
from bot.store import User

# (user, the text after the command) -> the turn, or None to leave the command to the engine
Command = Callable[[User, str], Turn | None]
# (user, typed text, in a private chat) -> the turn, or None when the text is not the feature's
# (it is then a question for the knowledge)
Reader = Callable[[User, str, bool], Turn | None]
# (user, the unpacked button) -> the turn, or None when the press is stale (not theirs, gone)
Press = Callable[[User, Any], Turn | None]


@dataclass(frozen=True)
class Feature:
    """What a feature registers with the engine."""

    commands: dict[str, Command] = field(default_factory=dict)
    private: frozenset[str] = frozenset()  # commands refused outside the user's private chat
    presses: dict[type[ButtonData], Press] = field(default_factory=dict)
    validators: dict[str, Validator] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)  # by step input kind
    reads: Reader | None = None  # typed text outside a dialog, read before the matcher
    on_return: Callable[[User], list[Notification]] | None = None  # a blocked user writes again
