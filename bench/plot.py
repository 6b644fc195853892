"""Plot time to Ready against the number of clusters from provisioning results.

    .venv/bin/python bench/plot.py docs/benchmarks/results.jsonl \
        [--out docs/benchmarks/provision.png]

Reads JSON lines (the benchmarks' output; lines of other benchmarks are skipped) and draws, per
backend and process count, the total time for N clusters to be Ready and the p99 time to Ready
of one cluster, with the goal (10,000 clusters in 60 s) marked.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks/provision.png"))
    args = p.parse_args()
    series: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for line in args.results.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("benchmark") != "provision":
            continue
        label = f"{r['backend']}, {r.get('processes', 1)} process(es)"
        series[label].append((r["clusters"], r["total_s"], r["p99_to_ready_s"]))
    fig, (total, p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, points in sorted(series.items()):
        points.sort()
        xs = [x for x, _, _ in points]
        total.plot(xs, [t for _, t, _ in points], marker="o", label=label)
        p99.plot(xs, [q for _, _, q in points], marker="o", label=label)
    total.scatter([10_000], [60], marker="*", s=150, color="black", label="goal: 10,000 in 60 s")
    total.set(xlabel="clusters", ylabel="seconds until all Ready", title="Time to Ready (total)")
    p99.set(xlabel="clusters", ylabel="seconds", title="p99 time to Ready of one cluster")
    for ax in (total, p99):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Orbit provisioning, zero simulated latency, 2 vCPU")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
