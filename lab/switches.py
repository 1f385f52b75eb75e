"""The lab's control switch: ``SESSIONS_ADMIN["CONTROL_SWITCH"] = "lab.switches.control_on"``.

Set in project/settings.py only when DEMO_MODE is on (and ``check --deploy`` refuses it). A
control is off only for the users of a private sandbox whose learner switched it off on /lab/;
with sandboxes off, or for anyone else, every control is on.
"""

from demo import sandboxes

from . import state


def control_on(request, control: str) -> bool:
    if not state.enabled() or not sandboxes.enabled():
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return True
    scope = state.scope_of_user(user)
    if scope is None or scope == state.SHARED:
        return True
    return state.control_is_on(scope, control)
