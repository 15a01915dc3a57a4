"""Session history: the SQLite store, progress numbers over it, and the printable report.

``HistoryStore`` is written to by the runner as a session goes; ``progress`` and ``report`` are
pure readers of the :class:`SessionRecord` list it returns; ``advice`` joins the two for the voice loop
(``advice_to_give``, ``how_am_i_doing``).
"""

from voice_coach.history.records import MissedSession, Note, SessionRecord
from voice_coach.history.store import DeleteCounts, HistoryStore

__all__ = ["HistoryStore", "SessionRecord", "MissedSession", "Note", "DeleteCounts"]
