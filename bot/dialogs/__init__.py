"""The guided dialogs (``knowledge/dialogs.yaml``), run against a user's stored state.

``runner.py`` starts, advances and finishes runs (:class:`DialogRunner`); ``typed.py`` reads
typed text as a step's answer; ``requests.py`` reads a message asking for a tour, or to resume
or stop one; ``results.py`` words what a run says back (remembered answers, the recommendation).
"""

from bot.dialogs.requests import TourRequests
from bot.dialogs.results import describe, result_reply
from bot.dialogs.runner import CANCEL, Action, DialogRunner, InvalidAnswer, Prompt, Validator
from bot.dialogs.typed import TypedAnswers

__all__ = [
    "CANCEL",
    "Action",
    "DialogRunner",
    "InvalidAnswer",
    "Prompt",
    "TourRequests",
    "TypedAnswers",
    "Validator",
    "describe",
    "result_reply",
]
