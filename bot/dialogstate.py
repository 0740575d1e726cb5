"""A guided dialog's run, as stored in the ``users.dialog`` column (JSON)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

log = logging.getLogger(__name__)


class DialogState(BaseModel):
    """Where a user is in a guided dialog.

    ``run`` is a short nonce carried by every button of that run, so a button from an older run
    is recognised as stale. Rows written before ``picked`` existed still load (it defaults).
    """

    model_config = ConfigDict(extra="ignore")

    id: str  # the dialog
    run: str
    step: str  # the step being asked
    slots: dict[str, str] = {}  # answers so far, by slot
    redo: list[str] = []  # slots to ask again although the profile remembers them
    picked: list[str] = []  # a multi-choice step's options toggled on so far
    given: list[str] = []  # slots filled before the run (a request in plain words): not asked

    @model_serializer(mode="wrap")
    def _without_empty_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # rows of runs with nothing given are stored exactly as before ``given`` existed
        data: dict[str, Any] = handler(self)
        if not data.get("given"):
            data.pop("given", None)
        return data

    @classmethod
    def load(cls, stored: str | None) -> DialogState | None:
        """A stored run; one that no longer reads as one is dropped (the user starts over)."""
        if not stored:
            return None
        try:
            return cls.model_validate_json(stored)
        except ValidationError as exc:  # the row itself may hold what the user typed: not logged
            log.warning("dropping a stored dialog state that does not load: %s", exc.title)
            return None
