"""Session cost per authenticated GET through the whole middleware stack, WSGI in process.

Each configuration gets its own django.test.Client (its handler builds its middleware chain once,
under that configuration's settings). Configurations are interleaved in shuffled rounds so that
noise from other processes lands on all of them alike. /dashboard/ is a small login_required page.
"""

import random
import time
from importlib import import_module

from django.conf import settings
from django.test import Client, override_settings

from . import counting
from .stats import summary

PATH = "/dashboard/"
POLICY_MIDDLEWARE = "sessions_admin.middleware.SessionPolicyMiddleware"
SESSION_UI = "sessions_admin.context_processors.session_ui"
DJANGO_SESSION_MW = "django.contrib.sessions.middleware.SessionMiddleware"
PASSWORD = "correct horse battery staple"


def _stock_overrides(engine: str, session_middleware: str = DJANGO_SESSION_MW) -> dict:
    """A stock backend: no policy middleware, no session UI context processor (it reads meta)."""
    middleware = [
        session_middleware if m == DJANGO_SESSION_MW else m
        for m in settings.MIDDLEWARE
        if m != POLICY_MIDDLEWARE
    ]
    template = settings.TEMPLATES[0]
    processors = [p for p in template["OPTIONS"]["context_processors"] if p != SESSION_UI]
    return {
        "SESSION_ENGINE": engine,
        "MIDDLEWARE": middleware,
        "TEMPLATES": [
            {**template, "OPTIONS": {**template["OPTIONS"], "context_processors": processors}}
        ],
    }


def configurations() -> dict[str, dict]:
    template = settings.TEMPLATES[0]
    no_ui = [p for p in template["OPTIONS"]["context_processors"] if p != SESSION_UI]
    configs = {
        "ours": {},
        # The store and policy alone: the page header's session badge and timeout data omitted.
        "ours_without_session_ui": {
            "TEMPLATES": [
                {**template, "OPTIONS": {**template["OPTIONS"], "context_processors": no_ui}}
            ]
        },
        "stock_cache": _stock_overrides("django.contrib.sessions.backends.cache"),
        "stock_db": _stock_overrides("django.contrib.sessions.backends.db"),
    }
    if getattr(settings, "HAS_USER_SESSIONS", False):
        configs["django_user_sessions"] = _stock_overrides(
            "user_sessions.backends.db", "user_sessions.middleware.SessionMiddleware"
        )
    return configs


def _signed_in_client(name: str, user) -> Client:
    client = Client()
    if name == "ours":
        # The real sign-in form, so the session carries the metadata the policy checks.
        client.get("/accounts/login/")
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302, response.status_code
    else:
        client.force_login(user)
    response = client.get(PATH)
    assert response.status_code == 200, (name, response.status_code)
    return client


def _request(client: Client) -> tuple[float, int, int]:
    rt0 = counting.round_trips()
    with counting.counting_sql() as sql:
        t0 = time.perf_counter()
        response = client.get(PATH)
        elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"GET {PATH} answered {response.status_code}")
    return elapsed, counting.round_trips() - rt0, sql.count


def run(*, make_user, redis_client, rounds: int = 12, per_round: int = 150, warmup: int = 20):
    configs = configurations()
    clients = {}
    for name, overrides in configs.items():
        with override_settings(**overrides):
            clients[name] = _signed_in_client(name, make_user(f"bench-{name}"))
    samples = {name: [] for name in configs}
    trips = {name: [] for name in configs}
    queries = {name: [] for name in configs}
    commands = {name: 0 for name in configs}
    order = list(configs)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            with override_settings(**configs[name]):
                client = clients[name]
                for _ in range(warmup):
                    client.get(PATH)
                before = counting.commands_processed(redis_client)
                for _ in range(per_round):
                    elapsed, rt, q = _request(client)
                    samples[name].append(elapsed)
                    trips[name].append(rt)
                    queries[name].append(q)
                # minus the INFO call that reads the counter
                commands[name] += counting.commands_processed(redis_client) - before - 1
    traces = {}
    for name in configs:
        with override_settings(**configs[name]), counting.tracing() as trace:
            clients[name].get(PATH)
        traces[name] = [" ".join(names) for names in trace]
    base = summary(samples["stock_cache"], 1e6)["median"]
    result = {}
    for name in configs:
        s = summary(samples[name], 1e6)
        n = len(trips[name])
        histogram = {}
        for rt in trips[name]:
            histogram[str(rt)] = histogram.get(str(rt), 0) + 1
        result[name] = {
            "us_per_request": s,
            "ratio_vs_stock_cache": round(s["median"] / base, 3),
            "redis_round_trips_per_get": round(sum(trips[name]) / n, 3),
            "redis_round_trips_histogram": histogram,
            "redis_commands_per_get": round(commands[name] / n, 3),
            "sql_queries_per_get": round(sum(queries[name]) / n, 3),
            "round_trips_of_one_get": traces[name],
        }
    engine_module = import_module(settings.SESSION_ENGINE).__name__
    result["_notes"] = {
        "path": PATH,
        "requests_per_config": rounds * per_round,
        "rounds": rounds,
        "ours_engine": engine_module,
        "ours_includes": "SessionPolicyMiddleware and the session_ui context processor",
    }
    return result
