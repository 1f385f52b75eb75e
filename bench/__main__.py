"""``python -m bench [overhead] [crypto] [profile] [signin] [throughput] [cluster] [listing]``:
run the benchmarks (all by default), print a table with the targets beside the figures, write
bench/results/latest.json and latest.md and docs/bench-scaling.png. No timed assertions.

``quick`` (a trial of the bench itself) stops the live-sessions curve at 10^4 and writes
bench/results/quick.{json,md} instead, leaving latest and the plot alone."""

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .env import BenchEnv

RESULTS = Path(__file__).resolve().parent / "results"
# listing last: it loads 10^6 sessions (about 1 GB of Redis) that nothing after it should share.
SECTIONS = ("overhead", "crypto", "profile", "signin", "throughput", "cluster", "listing")
# Issue 12's targets. Figures are measurements; nothing here fails a build.
TARGETS = {
    "session_overhead_ratio_vs_stock_cache": ("<= 1.05 (full page, in process)", "le", 1.05),
    "redis_round_trips_per_get": (
        "1 per GET (+1 per activity window for the touch), full page",
        "le",
        1.0,
    ),
    "throughput_ratio_vs_stock": (">= 0.95 (full page, gunicorn)", "ge", 0.95),
    "signin_redis_round_trips": ("<= 4 (besides hashing)", "le", 4),
    "memory_bytes_per_session": ("<= 1 KB (1024 B) per live session", "le", 1024),
    "listing": ("flat from 10 to 1,000,000 sessions", None, None),
}


def main(argv: list[str]) -> int:
    wanted = [a for a in argv if a in SECTIONS] or list(SECTIONS)
    quick = "quick" in argv
    env = BenchEnv()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        from . import counting

        counting.install()
        return _run(env, wanted, quick=quick)
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


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run(env: BenchEnv, wanted: list[str], *, quick: bool = False) -> int:
    from django.conf import settings

    from . import cryptobench, listing, overhead, plot, profiling, signin, throughput

    redis_client = env.raw_redis()
    info = redis_client.info()
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),  # noqa: TID251 - a label
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "redis": info["redis_version"],
            "redis_allocator": info.get("mem_allocator"),
            "load_average_at_start": _load(),
        },
        "redis": "shared REDIS_URL (prefixed keys)"
        if env.shared_redis
        else "embedded redis-server on a unix socket",
        "user_sessions_available": bool(getattr(settings, "HAS_USER_SESSIONS", False)),
        "targets": {k: v[0] for k, v in TARGETS.items()},
        "sections": {},
    }
    started = time.monotonic()
    for name in wanted:
        t0 = time.monotonic()
        print(f"== {name} ...", flush=True)
        if name == "overhead":
            result = overhead.run(make_user=_make_user, redis_client=redis_client)
        elif name == "crypto":
            result = cryptobench.run()
        elif name == "profile":
            result = profiling.run(make_user=_make_user)
        elif name == "listing":
            result = listing.run(
                make_user=_make_user,
                probe_default=not env.shared_redis,
                **({"sizes": (10, 10_000)} if quick else {}),
            )
        elif name == "throughput":
            result = throughput.run(workdir=env.workdir, make_user=_make_user)
        elif name == "cluster":
            from . import cluster

            result = cluster.run(workdir=env.workdir, make_user=_make_user)
        else:
            result = signin.run(make_user=_make_user)
        result["section_seconds"] = round(time.monotonic() - t0, 1)
        result["load_average_after"] = _load()
        report["sections"][name] = result
    report["total_seconds"] = round(time.monotonic() - started, 1)
    report["machine"]["load_average_at_end"] = _load()
    report.update(_headline(report["sections"]))
    RESULTS.mkdir(exist_ok=True)
    name = "quick" if quick else "latest"
    png = None
    if "listing" in wanted:
        png = plot.scaling_png(report, **({"path": RESULTS / "quick-scaling.png"} if quick else {}))
    if png:
        report["plot"] = str(png.relative_to(png.parent.parent))
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = _markdown(report)
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)
    return 0


def _headline(sections) -> dict:
    out = {}
    o = sections.get("overhead")
    if o:
        ours, engine, stock = o["ours"], o["ours_without_session_ui"], o["stock_cache"]
        # The full page (issue 12): ours with the policy and the header's session data.
        out["session_overhead_ratio_vs_stock_cache"] = ours["ratio_vs_stock_cache"]
        out["session_overhead_ratio_by_process"] = ours["ratio_vs_stock_cache_by_process"]
        out["session_overhead_ratio_vs_stock_cache_pooled"] = ours["ratio_vs_stock_cache_pooled"]
        out["session_overhead_ratio_vs_stock_cache_engine_only"] = engine["ratio_vs_stock_cache"]
        if "stock_cache_again" in o:
            out["session_overhead_noise_floor_a_a"] = o["stock_cache_again"]["ratio_vs_stock_cache"]
            out["session_overhead_noise_floor_a_a_by_process"] = o["stock_cache_again"][
                "ratio_vs_stock_cache_by_process"
            ]
        out["redis_round_trips_per_get"] = ours["redis_round_trips_per_get"]
        out["redis_round_trips_per_get_without_touch"] = ours["redis_round_trips_usual_get"]
        out["redis_round_trips_per_get_engine_only"] = engine["redis_round_trips_per_get"]
        out["redis_round_trips_per_get_stock_cache"] = stock["redis_round_trips_per_get"]
        out["us_per_get_ours"] = ours["us_per_request"]["median"]
        out["us_per_get_engine_only"] = engine["us_per_request"]["median"]
        out["us_per_get_stock_cache"] = stock["us_per_request"]["median"]
    c = sections.get("crypto")
    if c:
        out["aes_gcm_encrypt_decrypt_us"] = c["aes_gcm_roundtrip_us"]
        out["fernet_encrypt_decrypt_us"] = c["fernet_roundtrip_us"]
    ls = sections.get("listing")
    if ls:
        for size, m in ls["sizes"].items():
            out[f"list_ms_at_{size}"] = m["list_ms"]["median"]
            out[f"end_all_ms_at_{size}"] = m["end_all_ms"]["median"]
            out[f"page_us_at_{size}"] = m["page"]["ours"]["us_per_request"]["median"]
        b = ls["bytes_per_session"]
        out["memory_bytes_per_session"] = b["total"]
        largest = max(ls["sizes"], key=int)
        out[f"memory_used_bytes_per_session_at_{largest}"] = ls[
            "used_memory_per_session_at_largest"
        ]
        if "total_with_default_limit_64" in b:
            out["memory_bytes_per_session_default_hash_limit"] = b["total_with_default_limit_64"]
    t = sections.get("throughput")
    if t:
        out["throughput_ratio_vs_stock"] = t["throughput_ratio_vs_stock"]
        out["throughput_ratio_vs_stock_of_totals"] = t.get("throughput_ratio_vs_stock_of_totals")
        for name in t["configurations"]:
            out[f"throughput_rps_{name}"] = t[name]["rps"]
            out[f"throughput_p50_ms_{name}"] = t[name]["p50_ms"]
            out[f"throughput_p99_ms_{name}"] = t[name]["p99_ms"]
    cl = sections.get("cluster")
    if cl and "skipped" not in cl:
        for key in ("single_rps", "single_tcp_rps", "cluster_rps", "cluster_ratio_vs_single_tcp"):
            out[f"cluster_section_{key}"] = cl[key]
    s = sections.get("signin")
    if s:
        out["argon2_ms"] = s["owasp_argon2"]["median"]
        out["argon2_ms_django_default"] = s["django_default_argon2"]["median"]
        out["signin_post_ms"] = s["signin_post_ms"]["median"]
        out["signin_hashing_share"] = s["signin_hashing_share"]
        out["signin_redis_round_trips"] = s["signin_redis_round_trips"]
    return out


def _met(key, value) -> str:
    _, op, limit = TARGETS[key]
    if op is None or not isinstance(value, int | float):
        return ""
    ok = value <= limit if op == "le" else value >= limit
    return " **met**" if ok else " **not met**"


def _targets(report) -> list[str]:
    lines = ["## Against the targets (issue 12)", ""]
    for key, (target, _, _) in TARGETS.items():
        value = report.get(key)
        extra = ""
        if key == "session_overhead_ratio_vs_stock_cache" and value is not None:
            extra = (
                f" (median of {len(report['session_overhead_ratio_by_process'])} processes: "
                f"{', '.join(str(r) for r in report['session_overhead_ratio_by_process'])}; "
                f"{report['us_per_get_ours']} µs vs {report['us_per_get_stock_cache']} µs; "
                f"engine only {report['session_overhead_ratio_vs_stock_cache_engine_only']}; "
                f"stock against itself {report.get('session_overhead_noise_floor_a_a')}, by "
                "process "
                + ", ".join(
                    str(r) for r in report.get("session_overhead_noise_floor_a_a_by_process", [])
                )
                + ")"
            )
        elif key == "redis_round_trips_per_get" and value is not None:
            extra = (
                f" (mean, the touch amortized; a GET without a touch: "
                f"{report['redis_round_trips_per_get_without_touch']})"
            )
            value_for_check = report["redis_round_trips_per_get_without_touch"]
            lines.append(f"- {key}: {value}{extra} (target {target}){_met(key, value_for_check)}")
            continue
        elif key == "throughput_ratio_vs_stock" and value is not None:
            extra = (
                f" (median over slice pairs; ratio of the totals "
                f"{report.get('throughput_ratio_vs_stock_of_totals')}; "
                f"p50 {report['throughput_p50_ms_ours']} / p99 "
                f"{report['throughput_p99_ms_ours']} ms vs stock "
                f"{report['throughput_p50_ms_stock_cache']} / "
                f"{report['throughput_p99_ms_stock_cache']} ms)"
            )
        elif key == "memory_bytes_per_session" and value is not None:
            largest = [k for k in report if k.startswith("memory_used_bytes_per_session_at_")]
            if largest:
                extra = f" (MEMORY USAGE; used_memory growth {report[largest[0]]} B at 10^6)"
        elif key == "listing":
            value = (
                f"{report.get('list_ms_at_10')} ms at 10 -> "
                f"{report.get('list_ms_at_1000000')} ms at 1,000,000"
            )
        lines.append(f"- {key}: {value}{extra} (target {target}){_met(key, value)}")
    return [*lines, ""]


def _markdown(report) -> str:
    s = report["sections"]
    m = report["machine"]
    lines = [
        "# Benchmark results (latest run)",
        "",
        f"{report['generated_at']}; {m['cpus']} CPUs, Python {m['python']}, Redis {m['redis']} "
        f"({report['redis']}, allocator {m.get('redis_allocator')}). Load average "
        f"{m['load_average_at_start']} at the start, {m.get('load_average_at_end')} at the end "
        f"(1, 5, 15 min); {report['total_seconds']} s in all. Numbers from one run on a shared, "
        "noisy machine; ratios come from interleaved rounds.",
        "",
    ]
    lines += _targets(report)
    if "overhead" in s:
        lines += [
            "## The full page: authenticated GET /dashboard/ (in process)",
            "",
            "`ours` signed in through the sign-in form, with the policy middleware and the "
            "header's session data (badge, timeouts); `ours_without_session_ui` is the engine "
            "alone (store and policy); `ours_store_only` the store alone (this project's engine "
            "in the stock app); the stock backends are the same app without either, and "
            "`stock_cache_again` is stock against itself (its own client and user): the noise "
            "floor, a difference smaller than its distance from 1.0 is not one. Measured "
            f"in {s['overhead']['_notes']['processes']} fresh processes one after the other "
            "(bench/overhead.py says why): the ratio is the median of the processes' paired "
            "ratios, the range their lowest and highest; µs are over every request.",
            "",
            "| configuration | µs median | p10 | p90 | ratio vs stock cache (range) "
            "| Redis round trips (mean / usual) | Redis commands | SQL queries "
            "| minor page faults |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in s["overhead"].items():
            if not isinstance(r, dict) or name.startswith("_") or "us_per_request" not in r:
                continue
            u = r["us_per_request"]
            lines.append(
                f"| {name} | {u['median']} | {u['p10']} | {u['p90']} | {r['ratio_vs_stock_cache']} "
                f"({r['ratio_vs_stock_cache_range'][0]}-{r['ratio_vs_stock_cache_range'][1]}) "
                f"| {r['redis_round_trips_per_get']} / {r['redis_round_trips_usual_get']} "
                f"| {r['redis_commands_per_get']} | {r['sql_queries_per_get']} "
                f"| {r['minor_faults_per_get']} |"
            )
        if not report["user_sessions_available"]:
            lines.append(
                "\ndjango-user-sessions is not installed (pip install '.[bench]'): skipped."
            )
        lines += ["", "Round trips of one GET (ours): " + ", ".join(
            f"`{t}`" for t in s["overhead"]["ours"]["round_trips_of_one_get"]
        ), ""]  # fmt: skip
        lines += ["| page (ours) | round trips | commands |", "| --- | ---: | --- |"]
        for path, p in s["overhead"]["ours"]["round_trips_by_page"].items():
            lines.append(f"| {path} | {p['round_trips']} | {'; '.join(p['commands'])} |")
        lines.append("")
    if "crypto" in s:
        c = s["crypto"]
        lines += [
            f"## Payload encryption ({c['payload_bytes']}-byte payload, µs median)",
            "",
            "| scheme | encrypt | decrypt | both | token bytes |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| AES-256-GCM (ours, key digest as AAD) | {c['aes_gcm_encrypt']['median']} | "
            f"{c['aes_gcm_decrypt']['median']} | {c['aes_gcm_roundtrip_us']} | "
            f"{c['aes_gcm_token_bytes']} |",
            f"| Fernet (MultiFernet, one key) | {c['fernet_encrypt']['median']} | "
            f"{c['fernet_decrypt']['median']} | {c['fernet_roundtrip_us']} | "
            f"{c['fernet_token_bytes']} |",
            "",
            f"Fernet costs {c['fernet_vs_aes_gcm']}x AES-GCM; the key HMAC "
            f"(`crypto.key_digest`) {c['key_digest_hmac']['median']} µs.",
            "",
        ]
    if "profile" in s:
        p = s["profile"]
        lines += [
            "## Where one request's time goes (phase wrappers, exclusive µs per request)",
            "",
            "Where the time goes, not how the two compare (the ratio is the full-page "
            "section's): means of exclusive time, so a garbage collection lands in the phase it "
            "interrupted. Measured in a worker thread, as gunicorn runs requests "
            "(bench/profiling.py `_in_a_thread` says why); minor page faults per request: "
            f"ours {p['ours']['phases'].get('minor_faults_per_request')}, stock cache "
            f"{p['stock_cache']['phases'].get('minor_faults_per_request')}.",
            "",
            "| phase | ours µs | ours % | stock cache µs | stock cache % |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        op, sp = p["ours"]["phases"]["phases"], p["stock_cache"]["phases"]["phases"]
        for phase in list(op) + [k for k in sp if k not in op]:
            a, b = op.get(phase), sp.get(phase)
            lines.append(
                f"| {phase} | {a['us'] if a else '-'} | "
                f"{round(a['share'] * 100, 1) if a else '-'} | {b['us'] if b else '-'} | "
                f"{round(b['share'] * 100, 1) if b else '-'} |"
            )
        for name in ("ours", "stock_cache"):
            ph = p[name]["phases"]
            lines.append(
                f"\n{name}: {ph['us_per_request_instrumented']} µs per request instrumented "
                f"(median {ph['us_per_request_instrumented_median']} µs vs "
                f"{ph['us_per_request_plain_median']} µs plain: the wrappers cost about "
                f"{ph['instrumentation_overhead_us']} µs)."
            )
        lines += [
            "",
            "Finer (ours, top 25 by exclusive µs): "
            + "; ".join(
                f"{r['label']} {r['us']} ({r['calls_per_request']}x)"
                for r in p["ours"]["phases"]["labels"][:25]
            ),
            "",
            "cProfile, project functions by cumulative µs per request (ours; cProfile's own "
            "overhead inflates these): "
            + "; ".join(
                f"`{r['function']}` {r['cum_us']} ({r['calls_per_request']}x)"
                for r in p["ours"]["cprofile"]["project_by_cum"][:15]
            ),
            "",
        ]
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
            "Round trips of one sign-in POST: "
            + ", ".join(f"`{t}`" for t in g["signin_round_trips"]),
            "",
        ]
    if "throughput" in s:
        t = s["throughput"]
        lines += [
            f"## Throughput: gunicorn ({t['workers']} gthread workers), {t['tool']}, "
            f"{t['connections']} connections, {t['slices']}x {t['seconds_per_slice']} s each",
            "",
            "| configuration | requests/s | p50 ms | p99 ms | errors | workers' minor page faults "
            "per request |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in t["configurations"]:
            r = t[name]
            lines.append(
                f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} "
                f"| {r.get('minor_faults_per_request')} |"
            )
        lines += [
            "",
            f"Throughput ratio vs stock: {t['throughput_ratio_vs_stock']} (median over slice "
            f"pairs: {', '.join(str(r) for r in t['ours']['ratio_vs_stock_by_slice'])}; ratio "
            f"of the totals {t['throughput_ratio_vs_stock_of_totals']})",
            "",
        ]
    if "cluster" in s:
        from .cluster import row

        lines += ["## Throughput on Redis Cluster (bench/cluster.py)", "", row(s["cluster"]), ""]
    if "listing" in s:
        ls = s["listing"]
        lines += [
            "## Scaling with live sessions (full page, listing, memory)",
            "",
            f"Fillers copied from a real signed-in session, {ls['filler_sessions_per_user']} per "
            "user; the page's own user has one session. Plot: docs/bench-scaling.png.",
            "",
            "| live sessions | page µs ours (p90) | page µs stock cache (p90) | ratio "
            "| round trips (usual) | list 5 ms (p90) | list + end all ms | used_memory MB "
            "| growth B/session | keys | load s |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size, r in ls["sizes"].items():
            o, st = r["page"]["ours"], r["page"]["stock_cache"]
            lines.append(
                f"| {int(size):,} | {o['us_per_request']['median']} ({o['us_per_request']['p90']})"
                f" | {st['us_per_request']['median']} ({st['us_per_request']['p90']}) "
                f"| {r['page']['ratio']} | {o['round_trips_usual']} "
                f"| {r['list_ms']['median']} ({r['list_ms']['p90']}) "
                f"| {r['end_all_ms']['median']} | {r['used_memory_mb']} "
                f"| {r['used_memory_growth_per_session'] or '-'} | {r['keys_in_redis']:,} "
                f"| {r['load_s']} |"
            )
        lines += [
            "",
            "## Scaling with one user's sessions",
            "",
            "| the user's sessions | page µs ours (p90) | page µs stock cache | round trips "
            "(usual) | list_sessions ms (p90) | index bytes | per entry | encoding |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for k, r in ls["user_sessions"].items():
            o, st = r["page"]["ours"], r["page"]["stock_cache"]
            lines.append(
                f"| {k} | {o['us_per_request']['median']} ({o['us_per_request']['p90']}) "
                f"| {st['us_per_request']['median']} | {o['round_trips_usual']} "
                f"| {r['list_ms']['median']} ({r['list_ms']['p90']}) | {r['index_bytes']} "
                f"| {r['index_bytes_per_session']} | {r['index_encoding']} |"
            )
        b = ls["bytes_per_session"]
        lines += [
            "",
            "## Memory per live session",
            "",
            f"A real session (signed in through the form, a {b['ua_chars']}-character user "
            f"agent), MEMORY USAGE: data {b['data']} ({b['data_value_bytes']}-byte token) + "
            f"meta {b['meta']} ({b['meta_fields']} fields, {b['meta_encoding']}) + index "
            f"{b['index_share']} (a one-session user: the whole key) = **{b['total']} B**, "
            f"with `{b['hash_limit']}`. used_memory growth per session at "
            f"{int(max(ls['sizes'], key=int)):,}: {ls['used_memory_per_session_at_largest']} B "
            f"({ls['used_memory_mb_at_largest']} MB in all). With the longest user agent "
            f"recorded (512 characters) the meta takes {b['meta_with_512_char_ua']} B "
            f"({b['meta_encoding_with_512_char_ua']}).",
        ]
        if "meta_with_default_limit_64" in b:
            lines.append(
                f"Under Redis's default limit (64) the same meta is "
                f"{b['meta_encoding_with_default_limit_64']}-encoded and takes "
                f"{b['meta_with_default_limit_64']} B: {b['total_with_default_limit_64']} B per "
                "session."
            )
        if "prelogin_tombstone_meta" in b:
            lines.append(
                f"The pre-login session a sign-in rotates away from keeps its meta "
                f"({b['prelogin_tombstone_meta']} B) for {b['prelogin_tombstone_meta_ttl_s']} s."
            )
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
