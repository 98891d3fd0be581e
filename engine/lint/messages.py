"""Why a running case can or cannot move to another version: the message templates the migration
dry run uses (engine/runtime/migrate.py). They live here, beside the linter's, so the web layer's
catalog extracts them (babel.cfg reads engine/lint) and owners read them in Danish."""
from __future__ import annotations

from dataclasses import dataclass, field

from .findings import N_

OTHER_PROCESS = N_("the new version starts the process '%(new)s', not '%(old)s'")
BLOCK_GONE = N_("the case is inside the building block '%(block)s', which the new version does not call")
WAITS_REMOVED = N_("the case waits at %(task)s, which the new version removed")
WAITS_OTHER_KIND = N_("the case waits at %(task)s, which the new version turned into another kind of element")
NEW_TIMER = N_("%(task)s has a new timer; it counts from the move")
WAITS_CHANGED = N_("%(task)s, where the case waits, changed (%(what)s); the case continues with the new version of it")
DONE_REMOVED = N_("%(task)s was done in this case but the new version removed it")
STARTED_REMOVED = N_("%(task)s is under way in this case but the new version removed it")
DONE_OTHER_KIND = N_("%(task)s was done in this case but the new version turned it into another kind of element")
DONE_CHANGED = N_("%(task)s was done in this case but the new version changed it (%(what)s)")
STARTED_CHANGED = N_("%(task)s is under way in this case but the new version changed it (%(what)s)")
BOUNDARY_EVENTS = N_("the boundary events of '%(task)s'")
CASE_NOT_OPEN = N_("the case is %(status)s now")
CASE_MOVED_ON = N_("the case is no longer on the old version")
STATE_UNREADABLE = N_("the case's state cannot be read: %(problem)s")
MOVE_FAILED = N_("moving the case failed: %(problem)s")


@dataclass(frozen=True)
class Reason:
    """A sentence for the owner: an English template (a gettext msgid) and its values."""

    template: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % self.params

    def as_dict(self) -> dict:
        return {"text": str(self), "template": self.template, "params": dict(self.params)}
