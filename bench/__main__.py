"""``python -m bench [overhead] [listing] [throughput] [signin]``: run the benchmarks (all by
default), print a table, write bench/results/latest.json and latest.md. No timed assertions."""

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .env import BenchEnv

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("overhead", "listing", "throughput", "signin")
TARGETS = {
    "session_overhead_ratio_vs_stock_cache": "<= 1.2",
    "redis_round_trips_per_get": "1",
    "listing": "flat from 10 to 1,000,000 sessions",
    "throughput_ratio_vs_stock": ">= 0.85",
}


def main(argv: list[str]) -> int:
    wanted = [a for a in argv if a in SECTIONS] or list(SECTIONS)
    env = BenchEnv()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        from . import counting

        counting.install()
        return _run(env, wanted)
    finally:
        env.close()


def _make_user(username):
    from accounts.models import User

    from .overhead import PASSWORD

    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password(PASSWORD)
        user.save()
    return user


def _run(env: BenchEnv, wanted: list[str]) -> int:
    from django.conf import settings

    from . import listing, overhead, signin, throughput

    redis_client = env.raw_redis()
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),  # noqa: TID251 - a label
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "redis": redis_client.info()["redis_version"],
        },
        "redis": "shared REDIS_URL (prefixed keys)"
        if env.shared_redis
        else "embedded redis-server on a unix socket",
        "user_sessions_available": bool(getattr(settings, "HAS_USER_SESSIONS", False)),
        "targets": TARGETS,
        "sections": {},
    }
    started = time.monotonic()
    for name in wanted:
        t0 = time.monotonic()
        print(f"== {name} ...", flush=True)
        if name == "overhead":
            result = overhead.run(make_user=_make_user, redis_client=redis_client)
        elif name == "listing":
            result = listing.run()
        elif name == "throughput":
            result = throughput.run(workdir=env.workdir, make_user=_make_user)
        else:
            result = signin.run(make_user=_make_user)
        result["section_seconds"] = round(time.monotonic() - t0, 1)
        report["sections"][name] = result
    report["total_seconds"] = round(time.monotonic() - started, 1)
    report.update(_headline(report["sections"]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = _markdown(report)
    (RESULTS / "latest.md").write_text(markdown)
    print(markdown)
    return 0


def _cpus():
    import os

    return os.cpu_count()


def _headline(sections) -> dict:
    out = {}
    o = sections.get("overhead")
    if o:
        out["session_overhead_ratio_vs_stock_cache"] = o["ours"]["ratio_vs_stock_cache"]
        out["redis_round_trips_per_get"] = o["ours"]["redis_round_trips_per_get"]
        out["redis_round_trips_per_get_stock_cache"] = o["stock_cache"]["redis_round_trips_per_get"]
        out["us_per_get_ours"] = o["ours"]["us_per_request"]["median"]
        out["us_per_get_stock_cache"] = o["stock_cache"]["us_per_request"]["median"]
    ls = sections.get("listing")
    if ls:
        for size, m in ls["sizes"].items():
            out[f"list_ms_at_{size}"] = m["list_ms"]["median"]
            out[f"end_all_ms_at_{size}"] = m["end_all_ms"]["median"]
        out["bytes_per_session"] = ls["bytes_per_session"]["total"]
    t = sections.get("throughput")
    if t:
        out["throughput_ratio_vs_stock"] = t["throughput_ratio_vs_stock"]
        for name in t["configurations"]:
            out[f"throughput_rps_{name}"] = t[name]["rps"]
            out[f"throughput_p50_ms_{name}"] = t[name]["p50_ms"]
            out[f"throughput_p99_ms_{name}"] = t[name]["p99_ms"]
    s = sections.get("signin")
    if s:
        out["argon2_ms"] = s["owasp_argon2"]["median"]
        out["argon2_ms_django_default"] = s["django_default_argon2"]["median"]
        out["signin_post_ms"] = s["signin_post_ms"]["median"]
        out["signin_hashing_share"] = s["signin_hashing_share"]
    return out


def _markdown(report) -> str:
    s = report["sections"]
    lines = [
        "# Benchmark results (latest run)",
        "",
        f"{report['generated_at']}; {report['machine']['cpus']} CPUs, Python "
        f"{report['machine']['python']}, Redis {report['machine']['redis']} ({report['redis']}). "
        "Numbers from one run on a shared, noisy machine; ratios come from interleaved rounds.",
        "",
    ]
    if "overhead" in s:
        lines += [
            "## Session cost per authenticated GET /dashboard/ (in process)",
            "",
            "| configuration | µs median | p10 | p90 | ratio vs stock cache "
            "| Redis round trips | Redis commands | SQL queries |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in s["overhead"].items():
            if not isinstance(r, dict) or name.startswith("_"):
                continue
            u = r["us_per_request"]
            lines.append(
                f"| {name} | {u['median']} | {u['p10']} | {u['p90']} | {r['ratio_vs_stock_cache']} "
                f"| {r['redis_round_trips_per_get']} | {r['redis_commands_per_get']} "
                f"| {r['sql_queries_per_get']} |"
            )
        if not report["user_sessions_available"]:
            lines.append(
                "\ndjango-user-sessions is not installed (pip install '.[bench]'): skipped."
            )
        lines.append("")
    if "listing" in s:
        lines += [
            "## One user's 5 sessions: list, and end all, as Redis fills up",
            "",
            "| sessions in Redis | list ms median (p90) | list + end all ms median (p90) "
            "| round trips / commands (list + end all) | load s |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        for size, m in s["listing"]["sizes"].items():
            lines.append(
                f"| {int(size):,} | {m['list_ms']['median']} ({m['list_ms']['p90']}) | "
                f"{m['end_all_ms']['median']} ({m['end_all_ms']['p90']}) | "
                f"{m['list_and_end_round_trips']} / {m['list_and_end_commands']} | {m['load_s']} |"
            )
        b = s["listing"]["bytes_per_session"]
        lines += [
            "",
            f"Bytes per session (MEMORY USAGE): data {b['data']} + meta {b['meta']} + index entry "
            f"{b['index_share']} = {b['total']}; used_memory growth per session at the "
            "largest size: "
            f"{s['listing']['used_memory_per_session_at_largest']} B "
            f"({s['listing']['used_memory_mb_at_largest']} MB in all). The meta hash is "
            f"{b['meta_encoding']}-encoded (a real user agent exceeds hash-max-ziplist-value 64); "
            "with hash-max-ziplist-value 256 it takes "
            f"{b['meta_with_hash_max_ziplist_value_256']} B "
            f"({b['meta_encoding_with_256']}).",
            "",
        ]
    if "throughput" in s:
        t = s["throughput"]
        lines += [
            f"## Throughput: gunicorn ({t['workers']} gthread workers), {t['tool']}, "
            f"{t['connections']} connections, {t['slices']}x {t['seconds_per_slice']} s each",
            "",
            "| configuration | requests/s | p50 ms | p99 ms | errors |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name in t["configurations"]:
            r = t[name]
            lines.append(f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |")
        lines += ["", f"Throughput ratio vs stock: {t['throughput_ratio_vs_stock']}", ""]
    if "signin" in s:
        g = s["signin"]
        lines += [
            "## Sign-in",
            "",
            f"Argon2id verify, project ({g['owasp_argon2']['params']}): "
            f"{g['owasp_argon2']['median']} ms; "
            f"Django default ({g['django_default_argon2']['params']}): "
            f"{g['django_default_argon2']['median']} ms (x{g['django_default_vs_owasp']}).",
            f"Full sign-in POST (test client): {g['signin_post_ms']['median']} ms, of which "
            f"hashing {round(g['signin_hashing_share'] * 100)}% "
            f"({g['signin_other_ms']} ms everything else: {g['signin_redis_round_trips']} Redis "
            f"round trips, {g['signin_sql_queries']} SQL queries).",
            "",
        ]
    lines += ["## Against the targets", ""]
    for key, target in TARGETS.items():
        value = report.get(key)
        if key == "listing":
            value = (
                f"{report.get('list_ms_at_10')} ms at 10 -> "
                f"{report.get('list_ms_at_1000000')} ms at 1,000,000"
            )
        lines.append(f"- {key}: {value} (target {target})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
