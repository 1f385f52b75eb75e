from .state import enabled


def lab(request):
    """base.html: the nav link to /lab/ and the back-button beacon's token (demo mode only)."""
    if not enabled():
        return {"lab_enabled": False}
    from .views import beacon_token

    return {"lab_enabled": True, "lab_beacon_token": beacon_token(request)}
