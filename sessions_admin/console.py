"""The staff console: find a user, see their sessions, end one or all, disable or enable them.

Every view is staff-only and in sudo mode (``gates.elevation_required``); every action
is a POST, goes through ``services`` and is logged with ``actor=request.user``. No Django admin
is mounted: this page is the whole of the staff surface for sessions.

Counting, without ever scanning the keyspace:

* the users on the current page: ``registry.count_live`` per user, exact (it reads and prunes that
  user's index: O(page size x their sessions));
* the overall figure: ``services.indexed_session_total``, ZCARD of every user's index pipelined in
  chunks: O(users) work, O(users / 1000) round trips. It counts index entries, so a session that
  expired since its user's index was last listed is included until it is pruned (listing and
  ``manage.py prune_sessions`` prune). A Redis counter kept in step with every create/end would
  be O(1), but it would drift on every TTL expiry (Redis tells nobody), so it would need this
  same walk anyway to stay honest. With a user scope (below) the walk covers the scope's users.

Which users: ``SESSIONS_ADMIN["CONSOLE_USER_SCOPE"]``, the dotted path of a function
``(request) -> queryset`` of the user model (default: every user). Every page and action looks
its user up through that queryset, so a user outside it is a 404 whatever the URL says: the
hook for tenants, or for the demo's private sandboxes (demo/scope.py). The engine imports the
function by path and nothing else of the project.

Disabling asks first: GET on the disable URL is a confirmation page listing the sessions it will
end; the POST does it. Enabling is one POST. The services own the rules (never oneself, never a
superuser unless one) and record ``account_disabled`` / ``account_enabled``.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import registry, services
from .conf import app_settings
from .devices import describe_device
from .gates import elevation_required
from .views import session_cards

PAGE_SIZE = 25


def console_users(request):
    """The users this staff member may see and act on (CONSOLE_USER_SCOPE; default: all)."""
    scope = app_settings.CONSOLE_USER_SCOPE
    if scope:
        return import_string(scope)(request)
    return get_user_model()._default_manager.all()


def _back_to(user, q: str = "") -> str:
    params = {"user": user.get_username()}
    if q:
        params["q"] = q
    return f"{reverse('console:sessions')}?{urlencode(params)}"


@require_GET
@elevation_required
def sessions(request):
    """Search users (?q=), page through them with live counts, show one user's sessions."""
    q = request.GET.get("q", "").strip()[:150]
    scoped = bool(app_settings.CONSOLE_USER_SCOPE)
    users = console_users(request).order_by("username")
    if q:
        users = users.filter(username__icontains=q)
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(u, registry.count_live(u.pk)) for u in page.object_list]

    selected, cards = None, []
    wanted = request.GET.get("user", "").strip()
    if wanted:
        selected = get_object_or_404(console_users(request), username=wanted)
        current = request.session.digest if selected.pk == request.user.pk else None
        cards = session_cards(registry.list_sessions(selected.pk), current_digest=current)

    return render(
        request,
        "sessions_admin/console.html",
        {
            "q": q,
            "page": page,
            "rows": rows,
            "selected": selected,
            "cards": cards,
            "total": services.indexed_session_total(users if scoped else None),
            "scoped": scoped,
        },
    )


def _target(request, uid: int):
    user = get_object_or_404(console_users(request), pk=uid)
    return user, request.POST.get("q", "").strip()[:150]


def _refused_on_yourself(request, user, q: str, refusal: str):
    """Asked before acting (or before the disable page): the services' staff rule refuses the
    account-wide actions on one's own account, and the console says where to go instead."""
    try:
        services.check_staff_may_act_on(actor=request.user, user=user)
    except services.OwnAccountRefused:
        messages.error(request, refusal)
        return redirect(_back_to(user, q))
    return None


@require_POST
@elevation_required(action="end a session of another user")
def end_one(request, uid: int, handle: str):
    user, q = _target(request, uid)
    try:
        info = services.end_session(
            request=request, actor=request.user, user=user, handle=handle, by_staff=True
        )
    except services.CurrentSessionError:
        messages.error(request, "That is the session you are using: sign out to end it.")
        return redirect(_back_to(user, q))
    if info is None:
        raise Http404("No such session")
    messages.success(
        request, f"Ended {user.get_username()}'s session on {describe_device(info.meta.ua)}."
    )
    return redirect(_back_to(user, q))


@require_POST
@elevation_required(action="end all sessions of a user")
def end_all(request, uid: int):
    user, q = _target(request, uid)
    if refused := _refused_on_yourself(
        request, user, q, "To end your own other sessions, use Your sessions."
    ):
        return refused
    count = services.end_user_sessions(request=request, actor=request.user, user=user)
    messages.success(
        request, f"Ended {count} session{'s' if count != 1 else ''} of {user.get_username()}."
    )
    return redirect(_back_to(user, q))


@require_http_methods(["GET", "POST"])
@elevation_required(action="disable an account")
def disable(request, uid: int):
    """GET: what disabling will do (the sessions it ends), and the button. POST: do it."""
    user, q = _target(request, uid)
    if request.method == "GET":
        q = request.GET.get("q", "").strip()[:150]
    if refused := _refused_on_yourself(request, user, q, "You cannot disable your own account."):
        return refused
    if not user.is_active:
        messages.info(request, f"{user.get_username()} is already disabled.")
        return redirect(_back_to(user, q))
    if request.method == "GET":
        cards = session_cards(registry.list_sessions(user.pk), current_digest=None)
        return render(
            request,
            "sessions_admin/console_disable.html",
            {"target": user, "cards": cards, "q": q, "back": _back_to(user, q)},
        )
    count = services.disable_account(request=request, actor=request.user, user=user)
    messages.success(
        request,
        f"Disabled {user.get_username()} and ended {count} session{'s' if count != 1 else ''}.",
    )
    return redirect(_back_to(user, q))


@require_POST
@elevation_required(action="enable an account")
def enable(request, uid: int):
    user, q = _target(request, uid)
    if refused := _refused_on_yourself(request, user, q, "You cannot enable your own account."):
        return refused
    if services.enable_account(request=request, actor=request.user, user=user):
        messages.success(request, f"Enabled {user.get_username()}: they can sign in again.")
    else:
        messages.info(request, f"{user.get_username()} is already enabled.")
    return redirect(_back_to(user, q))
