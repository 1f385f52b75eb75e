"""/demo/: start a private sandbox, see its users and password, reset it. Demo mode only.

With DEMO_MODE off every URL here is a 404. With sandboxes off the page shows the shared demo
users (seed_demo's alice, bob, carol) the same way, and has nothing to start or reset.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS

from . import sandboxes

PRUNE_PER_VISIT = 5


def _demo_only():
    from django.conf import settings

    if not settings.DEMO_MODE:
        raise Http404("No demo here.")


def _shared_page(request):
    people = [
        sandboxes.Person(name, "staff" if staff else "member") for name, _, staff in DEMO_USERS
    ]
    return render(
        request,
        "demo/page.html",
        {"sandboxes": False, "people": people, "password": DEMO_PASSWORD},
    )


def _refused(request, refusal: sandboxes.Refused):
    response = render(
        request,
        "demo/refused.html",
        {"refusal": refusal, "minutes": max(1, round(refusal.retry_after / 60))},
        status=refusal.status,
    )
    response["Retry-After"] = str(refusal.retry_after)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def demo_page(request):
    _demo_only()
    if not sandboxes.enabled():
        if request.method == "POST":
            raise Http404("Private sandboxes are off.")
        return _shared_page(request)
    sandboxes.prune_expired(limit=PRUNE_PER_VISIT)
    if request.method == "POST":
        try:
            sandboxes.start(request=request)
        except sandboxes.Refused as refusal:
            return _refused(request, refusal)
        return redirect("demo:page")
    sandbox = sandboxes.current(request)
    context = {"sandboxes": True, "sandbox": sandbox}
    if sandbox is not None:
        context["people"] = sandboxes.people(sandbox)
        context["password"] = sandboxes.password_for(sandbox)
    return render(request, "demo/page.html", context)


@require_POST
def reset(request):
    _demo_only()
    if not sandboxes.enabled():
        raise Http404("Private sandboxes are off.")
    sandbox = sandboxes.current(request)
    if sandbox is None:
        messages.error(request, "You have no private demo to reset: start one.")
        return redirect("demo:page")
    ended = sandboxes.reset(request=request, sandbox=sandbox)
    messages.success(
        request,
        "Your demo is reset: every password is back, every account enabled, "
        f"{ended} session{'s' if ended != 1 else ''} ended.",
    )
    return redirect("demo:page")
