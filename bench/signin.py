"""Sign-in cost: Argon2id at the project's parameters (accounts.hashers, m=19 MiB t=2 p=1) vs
Django's default Argon2 parameters, and how much of a full sign-in POST is hashing."""

import time

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client, override_settings

from accounts.hashers import OwaspArgon2PasswordHasher
from sessions_admin import registry

from . import counting
from .stats import summary

PASSWORD = "correct horse battery staple"


def _hash_ms(hasher, repeats: int) -> dict:
    encoded = hasher.encode(PASSWORD, hasher.salt())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        hasher.verify(PASSWORD, encoded)
        times.append(time.perf_counter() - t0)
    return {
        **summary(times, 1e3),
        "params": f"m={hasher.memory_cost // 1024} MiB t={hasher.time_cost} p={hasher.parallelism}",
    }


def run(*, make_user, repeats: int = 10) -> dict:
    from django.conf import settings

    owasp = _hash_ms(OwaspArgon2PasswordHasher(), repeats)
    django_default = _hash_ms(Argon2PasswordHasher(), repeats)
    user = make_user("bench-signin")
    post_times = []
    many = {**settings.SESSIONS_ADMIN, "MAX_PER_USER": 1000}
    with override_settings(SESSIONS_ADMIN=many):
        for _ in range(repeats):
            client = Client()
            client.get("/accounts/login/")
            t0 = time.perf_counter()
            response = client.post(
                "/accounts/login/", {"username": user.username, "password": PASSWORD}
            )
            post_times.append(time.perf_counter() - t0)
            assert response.status_code == 302, response.status_code
            infos = registry.list_sessions(user.pk)
            registry.end_many([i.digest for i in infos], reason="logout", uid=str(user.pk))
        client = Client()
        client.get("/accounts/login/")
        rt0 = counting.round_trips()
        with counting.counting_sql() as sql, counting.tracing() as trace:
            client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        round_trips = counting.round_trips() - rt0
    post = summary(post_times, 1e3)
    hashing_share = owasp["median"] / post["median"]
    return {
        "owasp_argon2": owasp,
        "django_default_argon2": django_default,
        "django_default_vs_owasp": round(django_default["median"] / owasp["median"], 2),
        "signin_post_ms": post,
        "signin_hashing_share": round(hashing_share, 3),
        "signin_other_ms": round(post["median"] - owasp["median"], 2),
        "signin_redis_round_trips": round_trips,
        "signin_round_trips": [" ".join(names) for names in trace],
        "signin_sql_queries": sql.count,
    }
