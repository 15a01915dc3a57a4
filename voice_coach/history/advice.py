"""Saying the clinician advice once: the rule lives in :mod:`progress`, the memory of it in the store.

The voice loop calls :func:`advice_to_give` after a session's closing rating; if it returns text, the
coach says it. It is returned at most once per ``ADVICE_QUIET_PERIOD``, so the person is told, not nagged.
"""

from __future__ import annotations

from datetime import datetime

from voice_coach.history import progress
from voice_coach.history.store import HistoryStore


def advice_to_give(store: HistoryStore, now: datetime) -> str | None:
    """``ADVICE_TEXT`` when the advice rule fires and it was not given lately (then marked as given)."""
    if store.advice_given_since(now - progress.ADVICE_QUIET_PERIOD):
        return None
    if not progress.advice_due(store.sessions(since=now - progress.ADVICE_WINDOW), now):
        return None
    store.mark_advice_given(now)
    return progress.ADVICE_TEXT


def how_am_i_doing(store: HistoryStore, now: datetime) -> str:
    """The one-sentence answer to "how am I doing?"."""
    return progress.summary_sentence(store.sessions(), now)  # all: it may need the date of the last one
