"""A guided dialog's run, as stored in the ``users.dialog`` column (JSON)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
