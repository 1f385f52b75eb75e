"""Deploy checks: the lab, and the control switch it uses, never reach production.

``manage.py check --deploy`` fails when the lab would be served (``DEMO_MODE`` on) or when
``SESSIONS_ADMIN["CONTROL_SWITCH"]`` is configured at all: a switch that can turn session
controls off is a teaching aid only.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_lab_not_deployed(app_configs, **kwargs):
    errors = []
    if getattr(settings, "DEMO_MODE", False):
        errors.append(
            Error(
                "The workshop lab (/lab/) is served: DEMO_MODE is on.",
                hint="The lab shows session keys and can switch controls off for a learner. "
                "Set DEMO_MODE=0 in production.",
                id="lab.E001",
            )
        )
    if getattr(settings, "SESSIONS_ADMIN", {}).get("CONTROL_SWITCH"):
        errors.append(
            Error(
                "SESSIONS_ADMIN['CONTROL_SWITCH'] is configured: session controls can be "
                "switched off per request.",
                hint="Only the workshop lab sets it, and only in demo mode. Remove it.",
                id="lab.E002",
            )
        )
    return errors
