"""The staff console's user scope (SESSIONS_ADMIN["CONSOLE_USER_SCOPE"]) for the demo.

With sandboxes on, staff see and act on the users of their own sandbox only; a staff user in no
sandbox (the shared carol, an operator's account) sees the users in no sandbox. Off, everyone.
"""

from django.contrib.auth import get_user_model

from .models import SandboxUser
from .sandboxes import enabled


def console_users(request):
    users = get_user_model()._default_manager.all()
    if not enabled():
        return users
    membership = SandboxUser.objects.filter(user_id=request.user.pk).first()
    if membership is None:
        return users.filter(demo_sandbox__isnull=True)
    return users.filter(demo_sandbox__sandbox_id=membership.sandbox_id)
