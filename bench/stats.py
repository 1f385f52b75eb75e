"""Small statistics helpers (percentiles by nearest rank on sorted samples)."""

import statistics


def pct(samples, p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples, scale: float = 1.0) -> dict:
    return {
        "median": round(statistics.median(samples) * scale, 2),
        "p10": round(pct(samples, 10) * scale, 2),
        "p90": round(pct(samples, 90) * scale, 2),
        "n": len(samples),
    }


def median_ratio(ours, base) -> float:
    """The median of the pairwise ratios ours[i] / base[i]: measurements taken side by side
    (a round, a slice) compared pair by pair, so that a slow spell of the machine moves one pair,
    not the whole figure."""
    return statistics.median(o / b for o, b in zip(ours, base, strict=True))
