"""The joint task's state machine: every change of ``JointTask.state`` goes through
:func:`transition`, which checks the move, locks the row and writes the audit entry."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shuangsuiji.core import audit
from shuangsuiji.core.models import User

from .models import JointTask

State = JointTask.State

# Allowed moves; cancellation (from JointTask.CANCELLABLE) is added below.
TRANSITIONS: dict[str, set[str]] = {
    State.DRAFT: {State.INITIATED},
    State.INITIATED: {State.COORDINATING, State.AWAITING},
    State.COORDINATING: {State.AWAITING},
    State.AWAITING: {State.ESTABLISHED},
    State.ESTABLISHED: {State.DRAWN},
    State.DRAWN: {State.DISPATCHED},
    State.DISPATCHED: set(),
    State.CANCELLED: set(),
}
for _state in JointTask.CANCELLABLE:
    TRANSITIONS[_state].add(State.CANCELLED)


class TaskError(ValueError):
    """A refused task operation; the message is for the user, in Chinese."""


def transition(*, user: User | None, task: JointTask | int, to: str, note: str = "") -> JointTask:
    """Move ``task`` to state ``to`` (row-locked; concurrent moves are serialised), with audit.

    Callers check *who* may do it before calling; this checks only that the move is allowed from
    the state the task is in now (which may differ from what the caller's page showed)."""
    pk = task.pk if isinstance(task, JointTask) else task
    with transaction.atomic():
        locked = JointTask.objects.select_for_update().get(pk=pk)
        if to not in TRANSITIONS[locked.state]:
            raise TaskError(
                f"任务当前状态为「{locked.get_state_display()}」，"
                f"不能变为「{State(to).label}」。请刷新页面查看最新状态。"
            )
        before = audit.snapshot(locked)
        locked.state = to
        locked.state_changed_at = timezone.now()
        locked.save(update_fields=["state", "state_changed_at", "updated_at"])
        audit.record(
            user,
            "update",
            locked,
            before=before,
            after=audit.snapshot(locked),
            note=note or f"任务状态变为「{State(to).label}」",
            department=locked.lead_department,
        )
    return locked
