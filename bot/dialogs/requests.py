"""What a typed message asks of the guided tours: to start one ("walk me through licensing"), to
pick one ("give me a tour"), to resume the running one ("ok, carry on") or to stop it."""

from __future__ import annotations

from rapidfuzz import utils

from bot.knowledge import Knowledge
from bot.schema import Dialog


class TourRequests:
    """Reads tour requests and steering words with ``kb.tours``' phrases."""

    def __init__(self, kb: Knowledge) -> None:
        """Read requests for ``kb``'s dialogs."""
        self.kb = kb

    def requested(self, text: str, topic: str | None = None) -> Dialog | None:
        """The tour a message asks for ("walk me through licensing"), if it asks for one: the
        one its topic words name, else (for "walk me through it") the one whose results draw
        most on the ``topic`` in play."""
        if not self.asks_for_tour(text):
            return None
        return self.named(text) or (self.for_topic(topic) if topic else None)

    def asks_for_tour(self, text: str) -> bool:
        """Whether a message uses a tour request phrase ("walk me through", "quiz", "finder")."""
        words = f" {utils.default_process(text)} "
        return any(f" {p} " in words for p in self.kb.tours.requests)

    def named(self, text: str) -> Dialog | None:
        """The one tour whose topic words a message uses ("licensing", "degrees"), if one."""
        said = set(utils.default_process(text).split())
        asked = [d for d in self.kb.dialogs.values() if said & set(d.asked_for)]
        return asked[0] if len(asked) == 1 else None

    def picker(self, text: str) -> Dialog | None:
        """The "which tour?" dialog when a message asks for a tour and names none ("/tour",
        "give me a tour", "what tours do you have"): nothing left besides its request phrase,
        fillers and menu words; else None (a message with words of its own is a question)."""
        if not self.asks_for_tour(text):
            return None
        tours = self.kb.tours
        left = f" {utils.default_process(text)} "
        for phrase in sorted(tours.requests, key=len, reverse=True):
            left = left.replace(f" {phrase} ", "  ")
        if not set(left.split()) <= {*tours.fillers, *tours.menu}:
            return None
        return next((d for d in self.kb.dialogs.values() if d.action == "tour"), None)

    def for_topic(self, topic: str) -> Dialog | None:
        """The tour whose results cite ``topic`` most often (none cites it: None)."""
        cited = {
            d.id: sum(r.entries.count(topic) for r in d.results) for d in self.kb.dialogs.values()
        }
        best = max(cited, key=lambda k: cited[k], default=None)
        return self.kb.dialogs[best] if best and cited[best] else None

    def steer(self, text: str) -> str | None:
        """``stop`` or ``resume`` when a message only says that ("ok, carry on"), else None."""
        words = utils.default_process(text)
        tours = self.kb.tours
        for verdict, phrases in (("stop", tours.stop), ("resume", tours.resume)):
            left = f" {words} "
            for phrase in phrases:
                left = left.replace(f" {phrase} ", "  ")
            if left != f" {words} " and set(left.split()) <= set(tours.fillers):
                return verdict
        return None
