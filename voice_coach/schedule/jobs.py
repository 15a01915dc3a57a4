"""The callables stored in the job store.

The SQLite job store pickles a job as a *reference* to its function ("module:name"), so the
function must be module-level and importable forever: renaming it would make APScheduler drop
every stored job on load. It does no work itself; it hands the job's payload back, and serve's
listener (``EVENT_JOB_EXECUTED`` carries the return value and the scheduled time) queues it.
"""

from __future__ import annotations

from typing import Any

REMIND_REF = "voice_coach.schedule.jobs:remind"


def remind(**payload: Any) -> dict[str, Any]:
    """Return the job's payload (kind, routine or region, minutes...) for serve to act on."""
    return dict(payload)
