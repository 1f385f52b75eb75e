"""docs/bench-scaling.png: the full page's cost and Redis memory as live sessions grow (10 ..
10^6) and as one user's sessions grow (1 .. 100), from a bench report. matplotlib (bench extra),
Agg backend, no display needed."""

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def scaling_png(report: dict, path: Path = DOCS / "bench-scaling.png") -> Path | None:
    listing = report["sections"].get("listing")
    if not listing:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install '.[bench]'): no plot written")
        return None
    sizes = sorted(int(s) for s in listing["sizes"])
    rows = [listing["sizes"][str(s)] for s in sizes]
    users = sorted(int(k) for k in listing["user_sessions"])
    urows = [listing["user_sessions"][str(k)] for k in users]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    fig.suptitle(
        f"make bench, {report['generated_at'][:10]}: {report['machine']['cpus']} CPUs, "
        f"Redis {report['machine']['redis']}, in process (django.test.Client)",
        fontsize=10,
    )

    def page_lines(ax, xs, rs, xlabel):
        for name, style in (("ours", "o-"), ("stock_cache", "s--")):
            med = [r["page"][name]["us_per_request"]["median"] for r in rs]
            p10 = [r["page"][name]["us_per_request"]["p10"] for r in rs]
            p90 = [r["page"][name]["us_per_request"]["p90"] for r in rs]
            label = "ours (full page)" if name == "ours" else "stock cache backend"
            ax.plot(xs, med, style, label=label)
            ax.fill_between(xs, p10, p90, alpha=0.15)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("µs per GET /dashboard/ (median, p10-p90)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)

    ax = axes[0][0]
    page_lines(ax, sizes, rows, "live sessions in Redis")
    ax.set_title("Per-request cost vs live sessions", fontsize=10)
    for x, r in zip(sizes, rows, strict=True):
        ax.annotate(
            f"{r['page']['ours']['round_trips_usual']} RT",
            (x, r["page"]["ours"]["us_per_request"]["median"]),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=8,
        )

    ax = axes[0][1]
    mem = [r["used_memory_mb"] for r in rows]
    ax.plot(sizes, mem, "o-", color="tab:red", label="Redis used_memory (MB)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("live sessions in Redis")
    ax.set_ylabel("MB")
    ax.grid(alpha=0.3)
    per = [r["used_memory_growth_per_session"] for r in rows]
    for x, m, b in zip(sizes, mem, per, strict=True):
        if b:
            ax.annotate(f"{b} B/session", (x, m), textcoords="offset points", xytext=(-10, 8),
                        ha="right", fontsize=8)  # fmt: skip
    b = listing["bytes_per_session"]
    ax.set_title(
        f"Redis memory vs live sessions (MEMORY USAGE per session: {b['total']} B)", fontsize=10
    )
    ax.legend(fontsize=8)

    ax = axes[1][0]
    page_lines(ax, users, urows, "sessions of the signed-in user")
    lists = [r["list_ms"]["median"] * 1000 for r in urows]
    ax.plot(users, lists, "^:", color="tab:green", label="list_sessions (your sessions page)")
    ax.legend(fontsize=8)
    ax.set_title("Per-request cost vs one user's sessions", fontsize=10)

    ax = axes[1][1]
    idx = [r["index_bytes"] for r in urows]
    ax.plot(users, idx, "o-", color="tab:purple", label="user:{uid}:sessions (MEMORY USAGE)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sessions of the user")
    ax.set_ylabel("bytes")
    ax.grid(alpha=0.3)
    for x, r in zip(users, urows, strict=True):
        ax.annotate(f"{r['index_bytes_per_session']} B/entry ({r['index_encoding']})",
                    (x, r["index_bytes"]), textcoords="offset points", xytext=(0, 8),
                    ha="center", fontsize=8)  # fmt: skip
    ax.set_title("One user's index vs their sessions", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
