from . import notes
from .state import enabled


def lab(request):
    """base.html: the nav link to /lab/, the back-button beacon's token, and "What just
    happened?" notes (demo mode only: this processor is installed only then)."""
    if not enabled():
        return {"lab_enabled": False}
    from .views import beacon_token

    return {
        "lab_enabled": True,
        "lab_beacon_token": beacon_token(request),
        "what_happened": notes.take(request),
        "lab_notes": notes.NOTES,
    }
