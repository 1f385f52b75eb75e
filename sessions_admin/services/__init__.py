"""State changes of sessions, with keyword-only arguments; who may make each is checked in the
function that makes it, not in views. Views call these and render; they never touch Redis or
decide policy themselves.

* ``sign_in``: ``sign_in`` (the concurrency policy around ``login()``), the pending sign-in
  (``hold_pending_sign_in``, ``pending_sign_in``, ``complete_pending_sign_in``,
  ``complete_factor_sign_in``, ``abandon_pending_sign_in``), ``settle_remembered_device``,
  ``sign_out``.
* ``privilege``: key rotation on a privilege change: ``rotate``, ``elevate``,
  ``admit_elevation`` and ``end_for_elevation`` (the staff limit at sudo mode),
  ``reauthenticate``, ``prove_factor``, ``finalize_password_change``, ``drop_elevation``.
* ``ending``: ``end_session``, ``end_other_sessions``, ``end_user_sessions``,
  ``end_everyones_sessions``, ``disable_account``, ``enable_account``, eviction (``evict``),
  and the staff rule (``check_staff_may_act_on``, ``OwnAccountRefused``).
* ``selectors`` (read-only): ``max_sessions_for``, ``index_sizes``, ``indexed_session_total``.
* ``maintenance``: ``prune_all_indexes``.

Callers use this package (``services.sign_in(...)``); the names below are its public surface.
"""

from .ending import (
    CurrentSessionError,
    OwnAccountRefused,
    check_staff_may_act_on,
    disable_account,
    enable_account,
    end_everyones_sessions,
    end_other_sessions,
    end_session,
    end_user_sessions,
)
from .maintenance import prune_all_indexes
from .privilege import (
    admit_elevation,
    drop_elevation,
    elevate,
    end_for_elevation,
    finalize_password_change,
    prove_factor,
    reauthenticate,
    rotate,
)
from .selectors import index_sizes, indexed_session_total, max_sessions_for
from .sign_in import (
    PENDING_SIGN_IN,
    PENDING_SIGN_IN_TTL,
    STEP_CHOOSE,
    STEP_FACTOR,
    PendingSignIn,
    _save_now,
    abandon_pending_sign_in,
    complete_factor_sign_in,
    complete_pending_sign_in,
    hold_pending_sign_in,
    pending_sign_in,
    settle_remembered_device,
    sign_in,
    sign_out,
)

__all__ = [
    "PENDING_SIGN_IN",
    "PENDING_SIGN_IN_TTL",
    "STEP_CHOOSE",
    "STEP_FACTOR",
    "CurrentSessionError",
    "OwnAccountRefused",
    "PendingSignIn",
    "_save_now",  # signals.record_sign_in saves with it
    "abandon_pending_sign_in",
    "admit_elevation",
    "check_staff_may_act_on",
    "complete_factor_sign_in",
    "complete_pending_sign_in",
    "disable_account",
    "drop_elevation",
    "elevate",
    "enable_account",
    "end_everyones_sessions",
    "end_for_elevation",
    "end_other_sessions",
    "end_session",
    "end_user_sessions",
    "finalize_password_change",
    "hold_pending_sign_in",
    "index_sizes",
    "indexed_session_total",
    "max_sessions_for",
    "pending_sign_in",
    "prove_factor",
    "prune_all_indexes",
    "reauthenticate",
    "rotate",
    "settle_remembered_device",
    "sign_in",
    "sign_out",
]
