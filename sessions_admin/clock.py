"""The one source of time for session decisions. Tests move it; nothing patches global time."""

import time

_frozen: float | None = None
_offset: float = 0.0


def now() -> float:
    """Seconds since the epoch, as a float."""
    return _frozen if _frozen is not None else time.time() + _offset


def freeze(at: float | None = None) -> float:
    global _frozen
    _frozen = time.time() if at is None else at
    return _frozen


def advance(seconds: float) -> None:
    global _frozen, _offset
    if _frozen is not None:
        _frozen += seconds
    else:
        _offset += seconds


def reset() -> None:
    global _frozen, _offset
    _frozen, _offset = None, 0.0
