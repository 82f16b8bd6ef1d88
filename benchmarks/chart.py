#!/usr/bin/env python3
"""Reads JMH's JSON from a benchmarks run and writes the README figures.

    python3 benchmarks/chart.py [results/full.json]

Writes, next to the JSON:
  throughput.png  loomwork's throughput as a ratio to each baseline, per runner (log scale)
  summary.md      the same ratios, the absolute figures and the latency percentiles, in Markdown

Needs matplotlib (Debian/Ubuntu: apt-get install python3-matplotlib).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = [("structured", "LoomworkStructured"), ("fallback", "LoomworkFallback")]
BASE = "dev.loomwork.bench."

# (group, loomwork benchmark, loomwork params, baseline benchmark, baseline label, target ratio or None)
COMPARISONS = [
    ("enqueue, 1 producer", "enqueue_1producer", {}, "Baselines.enqueue_1producer_lbqOffer", "LinkedBlockingQueue.offer", 0.25),
    ("enqueue, 1 producer", "enqueue_1producer", {}, "Baselines.enqueue_1producer_tpeExecute", "ThreadPoolExecutor.execute", None),
    ("enqueue, 2 producers", "enqueue_2producers", {}, "Baselines.enqueue_2producers_lbqOffer", "LinkedBlockingQueue.offer", 0.25),
    ("enqueue, 2 producers", "enqueue_2producers", {}, "Baselines.enqueue_2producers_tpeExecute", "ThreadPoolExecutor.execute", None),
    ("no-op end to end", "noop", {"concurrency": "1000", "capacity": "10000"}, "Baselines.noop_stsAttemptScope", "raw scope floor: attempt scope (loomwork's shape)", 0.8),
    ("no-op end to end", "noop", {"concurrency": "1000", "capacity": "10000"}, "Baselines.noop_stsAttemptScopeTimeout", "raw scope floor: attempt scope + timeout", None),
    ("no-op end to end", "noop", {"concurrency": "1000", "capacity": "10000"}, "Baselines.noop_stsOneScope", "raw scope floor: one scope", None),
    ("no-op end to end", "noop", {"concurrency": "1000", "capacity": "10000"}, "Baselines.noop_virtualPerTask", "virtual thread per task", None),
    ("no-op end to end", "noop", {"concurrency": "1000", "capacity": "10000"}, "Baselines.noop_tpe2", "ThreadPoolExecutor, 2 threads", None),
    ("no-op, Micrometer on", "noopMicrometer", {}, "SELF:noop", "the same runner, metrics off", 0.85),
    ("I/O-bound (1 ms)", "io", {}, "Baselines.io_virtualPerTask", "virtual thread per task", 0.5),
    ("I/O-bound (1 ms)", "io", {}, "Baselines.io_tpe64", "ThreadPoolExecutor, 64 threads", 5.0),
    ("I/O-bound (1 ms)", "io", {}, "Baselines.io_stsAttemptScope", "raw scope floor: attempt scope", None),
    ("retry-heavy", "retryHalfOnce", {}, "Baselines.retryHalfOnce_virtualPerTaskLoop", "virtual thread per task, retry loop", None),
    ("retry-heavy", "retryHalfOnce", {}, "SELF:noop", "the same runner, no failures", None),
]


def load(path):
    with open(path) as f:
        rows = json.load(f)
    out = {}
    for r in rows:
        name = r["benchmark"][len(BASE):] if r["benchmark"].startswith(BASE) else r["benchmark"]
        out[(name, tuple(sorted((r.get("params") or {}).items())))] = r
    return out


def find(results, name, params=None):
    params = params or {}
    for (n, p), r in results.items():
        if n == name and all(dict(p).get(k) == v for k, v in params.items()):
            return r
    return None


def throughput(r):
    """Tasks per second, whatever the mode."""
    m = r["primaryMetric"]
    if r["mode"] == "thrpt":
        assert m["scoreUnit"] == "ops/s", m["scoreUnit"]
        return m["score"]
    if r["mode"] == "ss":  # time per batch of measurementBatchSize calls, per thread
        assert m["scoreUnit"] == "ms/op", m["scoreUnit"]
        return r["threads"] * r["measurementBatchSize"] / (m["score"] / 1000.0)
    raise ValueError(r["mode"])


def si(x):
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if x >= div * 0.9995:  # 999,999 rounds to "1 M", not "1e+03 k"
            return f"{x / div:.3g} {unit}"
    return f"{x:.3g}"


def ratios(results):
    out = []
    for group, lw, lwp, base, label, target in COMPARISONS:
        for runner, cls in RUNNERS:
            r = find(results, f"{cls}.{lw}", lwp)
            if base.startswith("SELF:"):
                b = find(results, f"{cls}.{base[5:]}", {"concurrency": "1000", "capacity": "10000"})
            else:
                b = find(results, base)
            if r is None or b is None:
                continue
            a, c = throughput(r), throughput(b)
            out.append(dict(group=group, label=label, runner=runner, loomwork=a, baseline=c,
                            ratio=a / c, target=target))
    return out


def chart(rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = []
    for r in rows:
        key = f"{r['group']}  vs  {r['label']}"
        if key not in labels:
            labels.append(key)
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(labels) + 1.6))
    height = 0.38
    colors = {"structured": "#3b6ea5", "fallback": "#e39b35"}
    for i, (runner, _) in enumerate(RUNNERS):
        ys, xs = [], []
        for r in rows:
            if r["runner"] == runner:
                ys.append(labels.index(f"{r['group']}  vs  {r['label']}") + (i - 0.5) * height)
                xs.append(r["ratio"])
        bars = ax.barh(ys, xs, height=height, color=colors[runner], label=f"{runner} runner")
        for y, x in zip(ys, xs):
            ax.text(x * 1.04, y, f"{x:.2f}×", va="center", fontsize=7)
    targets = {}
    for r in rows:
        if r["target"] is not None:
            targets[labels.index(f"{r['group']}  vs  {r['label']}")] = r["target"]
    for y, t in targets.items():
        ax.plot([t, t], [y - 0.45, y + 0.45], color="#c0392b", linewidth=2.2)
    ax.plot([], [], color="#c0392b", linewidth=2.2, label="target (at least)")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("loomwork throughput ÷ baseline throughput (log scale; right of 1 = loomwork faster)")
    ax.set_title("loomwork vs baselines, JMH, JDK 25, 2 cores (tasks/s ratios, same run)", fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def summary(results, rows):
    lines = ["| figure | baseline | structured | fallback | target |", "| --- | --- | --- | --- | --- |"]
    seen = {}
    for r in rows:
        seen.setdefault((r["group"], r["label"], r["target"]), {})[r["runner"]] = r
    for (group, label, target), by in seen.items():
        cells = []
        for runner, _ in RUNNERS:
            r = by.get(runner)
            cells.append(f"**{r['ratio']:.2f}×** ({si(r['loomwork'])}/s vs {si(r['baseline'])}/s)" if r else "–")
        t = "–" if target is None else (f"≥ {target}×" if label != "the same runner, metrics off" else "cost ≤ 15 %")
        lines.append(f"| {group} | {label} | {cells[0]} | {cells[1]} | {t} |")

    lines += ["", "No-op end to end, by parameter (tasks/s):", "",
              "| concurrency | capacity | structured | fallback |", "| --- | --- | --- | --- |"]
    for conc in ("1000", "100"):
        for cap in ("10000", "1000"):
            cells = []
            for _, cls in RUNNERS:
                r = find(results, f"{cls}.noop", {"concurrency": conc, "capacity": cap})
                cells.append(si(throughput(r)) if r else "–")
            lines.append(f"| {conc} | {cap} | {cells[0]} | {cells[1]} |")

    lines += ["", "Latency at light load, one task at a time (µs):", "",
              "| path | p50 | p99 | p99.9 |", "| --- | --- | --- | --- |"]
    for what, lw, bases in (
        ("enqueue → start", "latency_toStart", ("latency_toStart_virtualPerTask", "latency_toStart_tpe2")),
        ("enqueue → completion", "latency_toCompletion", ("latency_toCompletion_virtualPerTask", "latency_toCompletion_tpe2")),
    ):
        names = [(f"loomwork {runner}", f"{cls}.{lw}") for runner, cls in RUNNERS]
        names += [(("virtual thread per task" if "virtual" in b else "ThreadPoolExecutor, 2 threads"), f"Baselines.{b}") for b in bases]
        for label, n in names:
            r = find(results, n)
            if r is None:
                continue
            p = r["primaryMetric"]["scorePercentiles"]
            lines.append(f"| {what}: {label} | {p['50.0']:.1f} | {p['99.0']:.1f} | {p['99.9']:.1f} |")
    return "\n".join(lines) + "\n"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "full.json")
    results = load(path)
    rows = ratios(results)
    outdir = os.path.dirname(os.path.abspath(path))
    md = summary(results, rows)
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(md)
    print(md)
    chart(rows, os.path.join(outdir, "throughput.png"))
    print("wrote", os.path.join(outdir, "throughput.png"))


if __name__ == "__main__":
    main()
