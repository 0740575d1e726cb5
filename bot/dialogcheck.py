"""Static checks of a dialog: references, reachability, and that every path ends in a result."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from bot.schema import Dialog, Result, Step

END = "result"  # an option's ``next`` that ends the dialog and picks a result
ANY = "*"  # the value of a typed answer or a multi-choice, for walking the dialog
Loc = tuple[int | str, ...]


def choices(step: Step) -> list[tuple[str, str]]:
    """The (value, next step) pairs a step can produce."""
    if step.input == "number":  # the schema gives number and multi-choice steps a next
        return [(r.value, step.next or END) for r in step.ranges]
    if step.multi:
        return [(ANY, step.next or END)]
    typed = [(ANY, step.next)] if step.input is not None and step.next is not None else []
    return [(o.id, o.next or END) for o in step.options] + typed


def pick_result(dialog: Dialog, slots: dict[str, str]) -> Result | None:
    """The first result whose conditions all hold for ``slots``."""
    for result in dialog.results:
        if all(slots.get(slot) in values for slot, values in result.when.items()):
            return result
    return None


def paths(dialog: Dialog) -> Iterator[dict[str, str]]:
    """Every complete set of answers a user can give, walking the dialog from its start."""
    steps = {s.id: s for s in dialog.steps}

    def walk(
        step_id: str, slots: dict[str, str], seen: frozenset[str]
    ) -> Iterator[dict[str, str]]:
        if step_id == END:
            yield slots
            return
        step = steps.get(step_id)
        if step is None or step_id in seen:
            return
        for value, nxt in choices(step):
            yield from walk(nxt, {**slots, step.slot: value}, seen | {step_id})

    yield from walk(dialog.start, {}, frozenset())


def problems(
    dialog: Dialog, entry_ids: set[str], dialog_ids: Collection[str] = ()
) -> Iterator[tuple[Loc, str]]:
    """Yield (location inside the dialog, message) for each problem (``dialog_ids``: the tours
    a "which tour?" dialog's options may start)."""
    steps: dict[str, Step] = {}
    for i, step in enumerate(dialog.steps):
        if step.id in steps or step.id == END:
            yield ("steps", i, "id"), f"step id '{step.id}' is duplicate or reserved"
        steps[step.id] = step
    if dialog.start not in steps:
        yield ("start",), f"start step '{dialog.start}' does not exist"
        return
    for i, step in enumerate(dialog.steps):
        for j, option in enumerate(step.options):
            if option.next is not None and option.next != END and option.next not in steps:
                yield (
                    ("steps", i, "options", j, "next"),
                    f"option leads to missing step '{option.next}'",
                )
        if step.next is not None and step.next != END and step.next not in steps:
            yield ("steps", i, "next"), f"step leads to missing step '{step.next}'"
    reachable = _reachable(dialog.start, steps)
    for i, step in enumerate(dialog.steps):
        if step.id not in reachable:
            yield ("steps", i, "id"), f"step '{step.id}' is unreachable"
    values: dict[str, set[str]] = {}
    for step in dialog.steps:
        values.setdefault(step.slot, set()).update(v for v, _ in choices(step))
    for i, result in enumerate(dialog.results):
        for j, entry in enumerate(result.entries):
            if entry not in entry_ids:
                yield ("results", i, "entries", j), f"result cites missing entry '{entry}'"
        for slot, allowed in result.when.items():
            if slot not in values:
                yield ("results", i, "when", slot), f"condition on unknown slot '{slot}'"
            for value in set(allowed) - values.get(slot, set()):
                yield ("results", i, "when", slot), f"slot '{slot}' never takes value '{value}'"
    if any(s.id in _cyclic(steps) for s in dialog.steps):
        yield ("steps",), "the steps form a loop: a user could never reach a result"
        return
    if dialog.action == "tour":
        for i, step in enumerate(dialog.steps):
            for j, option in enumerate(step.options):
                if option.id not in set(dialog_ids) - {dialog.id}:
                    yield ("steps", i, "options", j, "id"), f"no tour '{option.id}' to start"
    if dialog.action is not None:
        return
    chosen: set[str] = set()
    for slots in paths(dialog):
        picked = pick_result(dialog, slots)
        if picked is None:
            answers = ", ".join(f"{k}={v}" for k, v in slots.items())
            yield ("results",), f"dead end: no result matches {answers}"
            return
        chosen.add(picked.id)
    for i, result in enumerate(dialog.results):
        if result.id not in chosen:
            yield (
                ("results", i, "id"),
                f"result '{result.id}' is never shown: results above it catch every path to it",
            )


def _reachable(start: str, steps: dict[str, Step]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        step = steps.get(todo.pop())
        if step is None or step.id in seen:
            continue
        seen.add(step.id)
        todo.extend(nxt for _, nxt in choices(step))
    return seen


def _cyclic(steps: dict[str, Step]) -> set[str]:
    """Step ids that lie on a loop."""
    on_loop: set[str] = set()
    for start in steps:
        todo = [nxt for _, nxt in choices(steps[start])]
        seen: set[str] = set()
        while todo:
            current = todo.pop()
            if current == start:
                on_loop.add(start)
                break
            if current in seen or current not in steps:
                continue
            seen.add(current)
            todo.extend(nxt for _, nxt in choices(steps[current]))
    return on_loop
