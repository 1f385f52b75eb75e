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
