"""Where the time of one authenticated full-page GET /dashboard/ goes, in process.

Two instruments, because each answers one question well:

* **Phases** (exclusive time): the entry points of each phase (every middleware's ``__call__``,
  the session load, Redis I/O, decrypt, the auth user load, template rendering, each context
  processor, the header badge's count, ``reverse()``, ``{% static %}``...) are wrapped with a
  perf_counter timer that subtracts the time of wrapped calls inside it, so every microsecond
  lands in exactly one phase. Redis I/O, SQL and the key HMAC are attributed to the phase that
  made them. What no wrapper covers is Django's handler and the test client. The wrappers cost
  a little (measured: ``instrumentation_overhead_us``).
* **cProfile** (deterministic, C): functions by own and cumulative time per request, to name
  what could leave the per-request path. cProfile inflates Python-heavy code more than C code,
  so its per-function microseconds are read as relative, the phase table as absolute.

Both run on the project (``ours``) and on the same app on Django's stock cache sessions.
"""

import cProfile
import functools
import pstats
import statistics
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

from django.conf import settings
from django.test import override_settings

from . import overhead

PHASES = {
    "django.middleware.security.SecurityMiddleware": "Django middleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "Django middleware",
    "django.middleware.common.CommonMiddleware": "Django middleware",
    "django.contrib.messages.middleware.MessageMiddleware": "Django middleware",
    "project.middleware.CrossOriginResourcePolicyMiddleware": "project header middleware",
    "project.middleware.RejectTraceMiddleware": "project header middleware",
    "project.middleware.NoStoreMiddleware": "project header middleware",
    "project.middleware.FetchMetadataMiddleware": "project header middleware",
    "project.middleware.MethodNotAllowedPageMiddleware": "project header middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware": "whitenoise",
    "csp.middleware.CSPMiddleware": "CSP",
    "django.contrib.sessions.middleware.SessionMiddleware": "session middleware (save, cookie)",
    "django.middleware.csrf.CsrfViewMiddleware": "CSRF middleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "auth (user load)",
    "sessions_admin.middleware.SessionPolicyMiddleware": "policy",
}
INHERIT = None  # the phase of the caller


class PhaseTimer:
    def __init__(self):
        self.stack: list[list] = []  # [label, phase, start, child_time]
        self.own: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.phase_of: dict[str, str] = {}
        self.enabled = False
        self._patches: list[tuple] = []

    def wrap(self, fn, label: str, phase: str | None):
        timer = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if not timer.enabled:
                return fn(*args, **kwargs)
            parent = timer.stack[-1] if timer.stack else None
            if phase is INHERIT:
                lab = f"{label} in {parent[0]}" if parent else label
                ph = parent[1] if parent else "other"
            else:
                lab, ph = label, phase
            frame = [lab, ph, time.perf_counter(), 0.0]
            timer.stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - frame[2]
                timer.stack.pop()
                timer.own[lab] += elapsed - frame[3]
                timer.calls[lab] += 1
                timer.phase_of[lab] = ph
                if timer.stack:
                    timer.stack[-1][3] += elapsed

        return timed

    def patch(self, owner, attr: str, label: str, phase: str | None) -> None:
        """Replace ``owner.attr`` (a class attribute, inherited or not, or a module's) by a
        timed wrapper; ``unpatch`` puts everything back. A name the code no longer has (the
        engine changes) is skipped: its time lands in its caller's phase."""
        if not hasattr(owner, attr):
            return
        is_class = isinstance(owner, type)
        had_own = attr in vars(owner) if is_class else True
        raw = vars(owner)[attr] if (is_class and had_own) else getattr(owner, attr)
        if isinstance(raw, classmethod):
            wrapped = classmethod(self.wrap(raw.__func__, label, phase))
        else:
            wrapped = self.wrap(raw, label, phase)
        setattr(owner, attr, wrapped)
        self._patches.append((owner, attr, raw, had_own))

    def unpatch(self):
        for owner, attr, original, had_own in reversed(self._patches):
            if had_own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patches.clear()


def _install(timer: PhaseTimer) -> None:
    import django.contrib.auth
    import django.urls
    import redis.client
    from django.core.handlers.base import BaseHandler
    from django.db.backends.utils import CursorWrapper
    from django.template.backends.django import Template
    from django.template.context import RequestContext
    from django.templatetags.static import StaticNode
    from django.test.client import Client

    import sessions_admin.context_processors as session_cp
    import sessions_admin.middleware as policy_mw
    import sessions_admin.store as store
    from sessions_admin import crypto, registry
    from sessions_admin.store import SessionStore

    timer.patch(Client, "get", "test client (request building, response handling)", "test client")
    timer.patch(BaseHandler, "get_response", "Django handler", "Django core")
    timer.patch(BaseHandler, "_get_response", "URL resolving, view call", "Django core")
    for path, phase in PHASES.items():
        module, _, name = path.rpartition(".")
        cls = getattr(import_module(module), name)
        timer.patch(cls, "__call__", name, phase)
    timer.patch(SessionStore, "load", "SessionStore.load", "session load + decrypt")
    timer.patch(SessionStore, "_parse", "SessionStore._parse (JSON)", INHERIT)
    timer.patch(store, "_meta_of", "metadata parse (remembered)", INHERIT)
    timer.patch(store, "exchange", "Redis round trip (the load's one write)", INHERIT)
    timer.patch(crypto, "open_sealed", "crypto.open_sealed (AES-GCM, remembered)", INHERIT)
    timer.patch(crypto, "encrypt", "crypto.encrypt (AES-GCM)", INHERIT)
    timer.patch(crypto, "key_digest", "crypto.key_digest (HMAC)", INHERIT)
    timer.patch(redis.client.Pipeline, "execute", "Redis round trip (pipeline)", INHERIT)
    timer.patch(redis.client.Redis, "execute_command", "Redis round trip", INHERIT)
    timer.patch(CursorWrapper, "execute", "SQL query", INHERIT)
    timer.patch(django.contrib.auth, "get_user", "auth.get_user (SQL)", "auth (user load)")
    timer.patch(policy_mw, "evaluate", "policy.evaluate", "policy")
    timer.patch(policy_mw, "facts_for", "request_facts.facts_for", "policy")
    timer.patch(policy_mw, "limits", "conf.limits", INHERIT)
    timer.patch(registry, "touch", "registry.touch (activity write)", "policy")
    timer.patch(Template, "render", "Template.render", "template render")
    timer.patch(RequestContext, "bind_template", "context processors", "context processors")
    timer.patch(registry, "count_recently_active", "header badge count", "header badge count")
    timer.patch(session_cp, "limits", "conf.limits", INHERIT)
    timer.patch(session_cp, "reverse", "reverse()", INHERIT)
    timer.patch(django.urls, "reverse", "reverse()", INHERIT)
    timer.patch(StaticNode, "url", "{% static %} URL", INHERIT)


def _wrap_context_processors(timer: PhaseTimer) -> None:
    """Time each context processor (the engine holds the functions it imported; they are read
    afresh from the settings first, so a second call does not wrap the wrappers)."""
    from django.template import engines

    engine = engines["django"].engine
    engine.__dict__.pop("template_context_processors", None)
    processors = engine.template_context_processors  # cached_property: computed once
    engine.__dict__["template_context_processors"] = tuple(
        timer.wrap(p, f"context processor {p.__module__}.{p.__name__}", "context processors")
        for p in processors
    )


def _timed_requests(client, n: int, faults: list) -> list[float]:
    times = []
    for _ in range(n):
        faults0 = overhead.minor_faults()
        t0 = time.perf_counter()
        response = client.get(overhead.PATH)
        times.append(time.perf_counter() - t0)
        faults.append(overhead.minor_faults() - faults0)
        assert response.status_code == 200
    return times


BATCH = 20


def _phases(timer, clients: dict, configs: dict, n: int) -> dict:
    """Every configuration's phase table, the configurations alternating in batches of BATCH
    requests (each half plain, half instrumented) so that the machine's slower spells land on
    all of them: measured one configuration after the other, the first one's template rendering
    once came out 65% dearer than the second's, the same template on the same machine."""
    tallies = {name: (defaultdict(float), defaultdict(int), {}) for name in clients}
    plain = {name: [] for name in clients}
    instrumented = {name: [] for name in clients}
    faults = {name: [] for name in clients}
    for name, client in clients.items():
        with override_settings(**configs[name]):
            for _ in range(30):
                client.get(overhead.PATH)
    for _ in range(max(1, n // BATCH)):
        for name, client in clients.items():
            with override_settings(**configs[name]):
                for _ in range(3):  # the override may have rebuilt the template engine
                    client.get(overhead.PATH)
                _wrap_context_processors(timer)
                timer.own, timer.calls, timer.phase_of = tallies[name]
                plain[name] += _timed_requests(client, BATCH // 2, faults[name])
                timer.enabled = True
                instrumented[name] += _timed_requests(client, BATCH // 2, faults[name])
                timer.enabled = False
    return {
        name: {
            **_phase_table(*tallies[name], plain[name], instrumented[name]),
            "minor_faults_per_request": round(sum(faults[name]) / len(faults[name]), 2),
        }
        for name in clients
    }


def _in_a_thread(fn, *args):
    """Run ``fn`` in a new thread, as gunicorn's gthread workers run requests, and return what
    it returned.

    Why: CPython 3.11 frees a frame-stack chunk as soon as the call that needed it returns
    (python/cpython#142183, fixed in 3.13 and later). The timers add a frame to every
    middleware, and called from ``python -m bench``'s deep main thread they put the chunk
    boundary inside template rendering: about 30 mmap/munmap pairs per request (strace), and
    ours measured at 1.5x stock in every phase, against 1.07-1.11x without the timers. A new
    thread starts its stack at the bottom of a fresh chunk, as a server's worker thread does.
    ``minor_faults_per_request`` shows whether a run was caught anyway."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-profile") as pool:
        return pool.submit(fn, *args).result()


def _phase_table(own, calls, phase_of, plain: list, instrumented: list) -> dict:
    count = len(instrumented)
    total = sum(own.values()) / count * 1e6
    labels = sorted(own, key=lambda k: -own[k])
    rows = [
        {
            "label": lab,
            "phase": phase_of[lab],
            "us": round(own[lab] / count * 1e6, 1),
            "share": round(own[lab] / count * 1e6 / total, 4),
            "calls_per_request": round(calls[lab] / count, 2),
        }
        for lab in labels
    ]
    phases: dict[str, float] = defaultdict(float)
    for r in rows:
        phases[r["phase"]] += r["us"]
    return {
        "requests": count,
        "us_per_request_instrumented": round(total, 1),
        "us_per_request_plain_median": round(statistics.median(plain) * 1e6, 1),
        "us_per_request_instrumented_median": round(statistics.median(instrumented) * 1e6, 1),
        "instrumentation_overhead_us": round(
            (statistics.median(instrumented) - statistics.median(plain)) * 1e6, 1
        ),
        "phases": {
            k: {"us": round(v, 1), "share": round(v / total, 4)}
            for k, v in sorted(phases.items(), key=lambda kv: -kv[1])
        },
        "labels": rows,
    }


def _where(code) -> str:
    filename, line, name = code
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        root = str(settings.BASE_DIR) + "/" if hasattr(settings, "BASE_DIR") else ""
        filename = filename.replace(root, "")
    return f"{filename}:{line}({name})"


def _cprofile(client, overrides, n: int) -> dict:
    with override_settings(**overrides):
        for _ in range(30):
            client.get(overhead.PATH)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            client.get(overhead.PATH)
        profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = []
    for code, (_cc, nc, tt, ct, _callers) in stats.items():
        rows.append(
            {
                "function": _where(code),
                "calls_per_request": round(nc / n, 2),
                "own_us": round(tt / n * 1e6, 1),
                "cum_us": round(ct / n * 1e6, 1),
            }
        )
    project = ("sessions_admin/", "project/", "accounts/")
    ours = [r for r in rows if r["function"].startswith(project)]
    total = sum(r["own_us"] for r in rows)
    return {
        "requests": n,
        "us_per_request_under_cprofile": round(total, 1),
        "top_own": sorted(rows, key=lambda r: -r["own_us"])[:25],
        "project_by_cum": sorted(ours, key=lambda r: -r["cum_us"])[:30],
    }


def run(*, make_user, requests: int = 600, cprofile_requests: int = 300) -> dict:
    configs = overhead.configurations(all_backends=False)
    out = {"instrument": "perf_counter phase wrappers (exclusive time) + cProfile"}
    timer = PhaseTimer()
    # Installed before the clients exist: a handler binds BaseHandler._get_response when it
    # builds its middleware chain, so it must bind the timed one.
    _install(timer)
    try:
        clients = {
            name: overhead.signed_in_client(name, make_user(f"bench-profile-{name}"), configs[name])
            for name in ("ours", "stock_cache")
        }
        for name, table in _in_a_thread(_phases, timer, clients, configs, requests).items():
            out[name] = {"phases": table}
    finally:
        timer.unpatch()
        from django.template import engines

        engines["django"].engine.__dict__.pop("template_context_processors", None)
    for name, client in clients.items():
        out[name]["cprofile"] = _cprofile(client, configs[name], cprofile_requests)
    return out
