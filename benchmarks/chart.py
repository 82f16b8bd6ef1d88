#!/usr/bin/env python3
"""Reads JMH's JSON from a benchmarks run and writes the figures of docs/benchmarks.md.

    python3 benchmarks/chart.py [results/full.json]
    python3 benchmarks/chart.py --durable results/full-custom.json

With --durable, only the durable store's tables (loomwork vs its JDBC floors, per fsync setting,
and the commit -> start latency), printed and written to durable-table.md next to the JSON.

Writes, next to the JSON:
  throughput.png  loomwork's throughput as a ratio to each baseline, per runner (log scale)
  peers.png       loomwork and its peers per workload: tasks/s (log scale) and enqueue -> start
  summary.md      the same ratios, the absolute figures and the latency percentiles, in Markdown,
                  then the peer tables (tasks/s, the issue's target ratios, latency), then the
                  durable store's tables if the run has them

A partial run (quick mode, a regex subset) gives the rows it has; the others are left out or "–".

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
    ("no-op, observation: ObservationRegistry.NOOP", "noopObserved", {"observation": "noop"}, "SELF:noopObserved?observation=none", "the same runner, no registry", 0.95),
    ("no-op, observation: meter handler", "noopObserved", {"observation": "meter"}, "SELF:noopObserved?observation=none", "the same runner, no registry", None),
    ("no-op, observation: tracing (OpenTelemetry)", "noopObserved", {"observation": "tracing"}, "SELF:noopObserved?observation=none", "the same runner, no registry", None),
    ("I/O-bound (1 ms)", "io", {}, "Baselines.io_virtualPerTask", "virtual thread per task", 0.5),
    ("I/O-bound (1 ms)", "io", {}, "Baselines.io_tpe64", "ThreadPoolExecutor, 64 threads", 5.0),
    ("I/O-bound (1 ms)", "io", {}, "Baselines.io_stsAttemptScope", "raw scope floor: attempt scope", None),
    ("retry-heavy", "retryHalfOnce", {}, "PeersVirtualThreadLoop.retryHalfOnce", "virtual thread per task, retry loop, 1 ms backoff", None),
    ("retry-heavy", "retryHalfOnce", {}, "Baselines.retryHalfOnce_virtualPerTaskLoop", "the same loop without backoff (floor)", None),
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
                # SELF:name, at the default concurrency and capacity, or SELF:name?param=value&...
                name, _, query = base[5:].partition("?")
                params = dict(kv.split("=", 1) for kv in query.split("&")) if query else {"concurrency": "1000", "capacity": "10000"}
                b = find(results, f"{cls}.{name}", params)
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


# ---------------------------------------------------------------------------------------------
# Peers: the libraries users would pick instead (benchmarks/src/main/java/.../Peers*.java).
# ---------------------------------------------------------------------------------------------

PEERS = [
    ("Failsafe + VT", "PeersFailsafe"),
    ("resilience4j + VT", "PeersResilience4j"),
    ("VT per task, retry loop", "PeersVirtualThreadLoop"),
    ("coroutines pool", "PeersCoroutines"),
    ("JobRunr in-memory", "PeersJobRunr"),
]
LOOMWORK = [("loomwork structured", "LoomworkStructured"), ("loomwork fallback", "LoomworkFallback")]
DEFAULT_PARAMS = {"concurrency": "1000", "capacity": "10000"}

# (label, benchmark method); loomwork's no-op is taken at its default parameters.
PEER_WORKLOADS = [
    ("enqueue, 1 producer, queue not started (loomwork only)", "enqueue_1producer"),
    ("enqueue, 1 producer, while draining", "enqueueDraining_1producer"),
    ("no-op end to end", "noop"),
    ("I/O-bound, 1 ms per task", "io"),
    ("retry-heavy, half fail once, 1 ms backoff", "retryHalfOnce"),
]

# The targets: (workload method, peer class, at least this ratio, runners it applies to).
PEER_TARGETS = [
    ("retryHalfOnce", "PeersFailsafe", 1.0, ("structured", "fallback")),
    ("retryHalfOnce", "PeersResilience4j", 0.5, ("structured", "fallback")),
    ("io", "PeersFailsafe", 1.0, ("structured", "fallback")),
    ("io", "PeersResilience4j", 0.8, ("structured",)),
    ("io", "PeersResilience4j", 1.0, ("fallback",)),
    ("noop", "PeersFailsafe", 1.0, ("structured", "fallback")),
]


def peer_result(results, cls, method):
    if cls.startswith("Loomwork") and method.startswith("noop"):
        return find(results, f"{cls}.{method}", DEFAULT_PARAMS)
    return find(results, f"{cls}.{method}")


def percentile(results, name, p):
    r = find(results, name)
    if r is None:
        return None
    return r["primaryMetric"]["scorePercentiles"][p]


def us(x):
    if x is None:
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def peers_summary(results):
    """The peer tables, in Markdown; an empty string if the run has no peer."""
    if not any(find(results, f"{cls}.{m}") for _, cls in PEERS for _, m in PEER_WORKLOADS + [("", "latency_toStart")]):
        return ""
    everyone = LOOMWORK + PEERS
    lines = ["", "## loomwork and its peers", "",
             "Tasks per second, same run (enqueue: the producer side, one thread, batches of 10,000; "
             "\"while draining\": the queue or executor runs the tasks meanwhile):", "",
             "| workload | " + " | ".join(label for label, _ in everyone) + " | best peer |",
             "| --- | " + " | ".join("---" for _ in everyone) + " | --- |"]
    best = {}
    for label, method in PEER_WORKLOADS:
        cells = []
        for _, cls in everyone:
            r = peer_result(results, cls, method)
            cells.append(f"{si(throughput(r))}/s" if r else "–")
        peers = [(throughput(r), plabel) for plabel, cls in PEERS if (r := peer_result(results, cls, method))]
        if peers:
            best[method] = max(peers)
        b = f"{best[method][1]} ({si(best[method][0])}/s)" if method in best else "–"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {b} |")

    lines += ["", "loomwork ÷ peer, tasks/s (above 1: loomwork faster), with the issue's targets:", "",
              "| workload | peer | structured | fallback | target |", "| --- | --- | --- | --- | --- |"]
    labels = dict((m, l) for l, m in PEER_WORKLOADS)
    plabels = dict((c, l) for l, c in PEERS)
    targets = {}
    for method, cls, ratio, runners in PEER_TARGETS:
        for runner in runners:
            targets[(method, cls, runner)] = ratio
    for label, method in PEER_WORKLOADS:
        for plabel, pcls in PEERS:
            p = peer_result(results, pcls, method)
            if p is None:
                continue
            cells, tcells = [], []
            for runner, lcls in RUNNERS:
                r = peer_result(results, lcls, method)
                t = targets.get((method, pcls, runner))
                if method == "enqueueDraining_1producer":
                    t = 1.0  # "enqueue stays ahead of every peer"
                if r is None:
                    cells.append("–")
                else:
                    ratio = throughput(r) / throughput(p)
                    mark = "" if t is None else (" ✓" if ratio >= t else " ✗")
                    cells.append(f"**{ratio:.2f}×**{mark}")
                if t is not None:
                    tcells.append(f"{runner} ≥ {t}×")
            bounds = dict.fromkeys(c.split(" ", 1)[1] for c in tcells)
            tt = "–" if not tcells else (next(iter(bounds)) if len(bounds) == 1 and len(tcells) == 2
                                         else ", ".join(tcells))
            if all(c.startswith("–") for c in cells):
                continue
            lines.append(f"| {label} | {plabel} ({si(throughput(p))}/s) | {cells[0]} | {cells[1]} | {tt} |")

    lines += ["", "Latency at light load, one task at a time (µs):", "",
              "| runner | enqueue → start p50 | p99 | enqueue → completion p50 | p99 |",
              "| --- | --- | --- | --- | --- |"]
    rows = everyone + [("VT per task, plain (Baselines)", "Baselines")]
    for label, cls in rows:
        if cls == "Baselines":
            s_name, c_name = "Baselines.latency_toStart_virtualPerTask", "Baselines.latency_toCompletion_virtualPerTask"
        else:
            s_name, c_name = f"{cls}.latency_toStart", f"{cls}.latency_toCompletion"
        vals = [percentile(results, s_name, "50.0"), percentile(results, s_name, "99.0"),
                percentile(results, c_name, "50.0"), percentile(results, c_name, "99.0")]
        if all(v is None for v in vals):
            continue
        lines.append(f"| {label} | " + " | ".join(us(v) for v in vals) + " |")

    vt50 = percentile(results, "Baselines.latency_toStart_virtualPerTask", "50.0")
    vt99 = percentile(results, "Baselines.latency_toStart_virtualPerTask", "99.0")
    if vt50 and vt99:
        lines += ["", "enqueue → start, loomwork ÷ a virtual thread per task (below the target: met):", "",
                  "| runner | p50 (target ≤ 3×) | p99 (target ≤ 2×) |", "| --- | --- | --- |"]
        for runner, cls in RUNNERS:
            p50 = percentile(results, f"{cls}.latency_toStart", "50.0")
            p99 = percentile(results, f"{cls}.latency_toStart", "99.0")
            if p50 is None:
                continue
            c50 = f"**{p50 / vt50:.2f}×** {'✓' if p50 / vt50 <= 3 else '✗'}"
            c99 = f"**{p99 / vt99:.2f}×** {'✓' if p99 / vt99 <= 2 else '✗'}"
            lines.append(f"| {runner} | {c50} | {c99} |")
    return "\n".join(lines) + "\n"


def peers_chart(results, png):
    """Tasks/s per workload for loomwork and each peer (log scale), and enqueue -> start p50/p99."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    everyone = LOOMWORK + PEERS
    colors = ["#3b6ea5", "#e39b35", "#7f7f7f", "#5aa469", "#9467bd", "#c44e52", "#8c564b"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 6.2), gridspec_kw={"width_ratios": [3, 2]})
    top = 1.0
    n = len(everyone)
    height = 0.8 / n
    for j, (label, cls) in enumerate(everyone):
        ys, xs = [], []
        for i, (_, method) in enumerate(PEER_WORKLOADS):
            r = peer_result(results, cls, method)
            if r is not None:
                ys.append(i + (j - (n - 1) / 2) * height)
                xs.append(throughput(r))
        ax.barh(ys, xs, height=height, color=colors[j % len(colors)], label=label)
        top = max([top] + xs)
        for y, x in zip(ys, xs):
            ax.text(x * 1.05, y, si(x), va="center", fontsize=6)
    ax.set_xscale("log")
    ax.set_xlim(right=top * 4)  # room for the labels
    ax.set_yticks(range(len(PEER_WORKLOADS)))
    ax.set_yticklabels([l for l, _ in PEER_WORKLOADS], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("tasks per second (log scale; right = faster)")
    ax.set_title("throughput", fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, fontsize=7)

    names, p50s, p99s = [], [], []
    for label, cls in everyone:
        p50 = percentile(results, f"{cls}.latency_toStart", "50.0")
        p99 = percentile(results, f"{cls}.latency_toStart", "99.0")
        if p50 is not None:
            names.append(label)
            p50s.append(p50)
            p99s.append(p99)
    ys = range(len(names))
    ax2.barh([y - 0.2 for y in ys], p50s, height=0.4, color="#3b6ea5", label="p50")
    ax2.barh([y + 0.2 for y in ys], p99s, height=0.4, color="#e39b35", label="p99")
    for y, a, b in zip(ys, p50s, p99s):
        ax2.text(a * 1.05, y - 0.2, us(a), va="center", fontsize=6)
        ax2.text(b * 1.05, y + 0.2, us(b), va="center", fontsize=6)
    ax2.set_xscale("log")
    if p99s:
        ax2.set_xlim(right=max(p99s) * 6)
    ax2.set_yticks(list(ys))
    ax2.set_yticklabels(names, fontsize=8)
    ax2.invert_yaxis()
    ax2.set_xlabel("µs (log scale; left = sooner)")
    ax2.set_title("enqueue → start at light load", fontsize=10)
    ax2.grid(axis="x", which="both", alpha=0.3)
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7)
    fig.suptitle("loomwork and its peers, JMH, JDK 25, 2 cores (same run)", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


# ---------------------------------------------------------------------------------------------
# The durable store (Durable*.java): loomwork against a JDBC floor of the same SQL, per fsync setting.
# ---------------------------------------------------------------------------------------------

FSYNC = ("on", "off")

# (label, loomwork benchmark, loomwork params, floor benchmark, floor label, target ratio)
DURABLE_COMPARISONS = [
    ("work off a backlog of no-op tasks (durable queue, concurrency 100, pool of 4)",
     "DurableWorkOff.workOff_loomwork", {}, "DurableWorkOff.workOff_jdbcClaim100Complete100",
     "4 JDBC loops: claim 100, complete 100", 0.5),
    ("transactional enqueue, 1 task per transaction, 1 thread",
     "DurableEnqueue.txEnqueue_loomwork", {}, "DurableEnqueue.txEnqueue_jdbcInsert",
     "plain INSERT of the same row + commit", 0.9),
    ("transactional enqueue, 16 threads, debounced NOTIFY",
     "DurableEnqueue.enqueue16_loomwork", {}, "DurableEnqueue.enqueue16_jdbcInsert",
     "plain INSERT + commit, no NOTIFY", 0.8),
    ("(for scale, not loomwork) JDBC INSERT + NOTIFY in every transaction, 16 threads",
     "DurableEnqueue.enqueue16_jdbcInsertNotifyEach", {}, "DurableEnqueue.enqueue16_jdbcInsert",
     "plain INSERT + commit, no NOTIFY", None),
]

# (label, benchmark, params); targets: p50 <= 5 ms, p99 <= 25 ms (loomwork only).
DURABLE_LATENCY = [
    ("loomwork, enqueues 120 ms apart (each sends its NOTIFY)", "DurableLatency.latency_toStart_loomwork", {"pauseMillis": "120"}, True),
    ("loomwork, back to back (NOTIFY debounced per queue)", "DurableLatency.latency_toStart_loomwork", {"pauseMillis": "0"}, True),
    ("floor: INSERT + NOTIFY, LISTEN + claim statement", "DurableLatency.latency_toStart_jdbcListenClaim", {}, False),
]


def durable_rate(r):
    """Tasks (or committed transactions) per second."""
    if r["mode"] == "ss":  # one backlog per shot
        tasks = int(r["params"]["tasks"])
        return tasks / (r["primaryMetric"]["score"] / 1000.0)
    return throughput(r)


def durable_summary(results):
    """The durable tables, in Markdown; an empty string if the run has no durable benchmark."""
    if not any(n.startswith("Durable") for (n, _) in results):
        return ""
    lines = ["", "## The durable store (PostgreSQL)", "",
             "loomwork ÷ a JDBC floor of the same SQL, same run (tasks or commits per second):", "",
             "| workload | floor | fsync | loomwork | floor | ratio | target |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, lw, lwp, base, blabel, target in DURABLE_COMPARISONS:
        for fs in FSYNC:
            r = find(results, lw, dict(lwp, fsync=fs))
            b = find(results, base, {"fsync": fs})
            if r is None or b is None:
                continue
            a, c = durable_rate(r), durable_rate(b)
            mark = "" if target is None else (" ✓" if a / c >= target else " ✗")
            t = "–" if target is None else f"≥ {target}×"
            size = f", {int(r['params']['tasks']):,} tasks" if "tasks" in r.get("params", {}) else ""
            lines.append(f"| {label}{size} | {blabel} | {fs} | {si(a)}/s | {si(c)}/s | **{a / c:.2f}×**{mark} | {t} |")
    lines += ["", "Enqueue commit → attempt start, one task at a time (ms; target p50 ≤ 5, p99 ≤ 25):", "",
              "| path | fsync | samples | p50 | p90 | p99 | max | target |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, name, params, targeted in DURABLE_LATENCY:
        for fs in FSYNC:
            r = find(results, name, dict(params, fsync=fs))
            if r is None:
                continue
            m = r["primaryMetric"]
            p = m["scorePercentiles"]
            p50, p90, p99, top = (p[k] / 1000.0 for k in ("50.0", "90.0", "99.0", "100.0"))
            n = sum(int(c) for rawrow in m.get("rawDataHistogram", []) for hist in rawrow for _, c in hist) or "–"
            t = "–"
            if targeted:
                t = ("✓" if p50 <= 5 and p99 <= 25 else "✗")
            lines.append(f"| {label} | {fs} | {n} | {p50:.2f} | {p90:.2f} | {p99:.2f} | {top:.2f} | {t} |")
    return "\n".join(lines) + "\n"


def main():
    args = sys.argv[1:]
    durable_only = "--durable" in args
    args = [a for a in args if a != "--durable"]
    path = args[0] if args else os.path.join(HERE, "results", "full.json")
    results = load(path)
    if durable_only:
        # Only the durable tables, printed and written to durable-table.md next to the JSON: a run of
        # the Durable* benchmarks alone must not replace the published summary and charts.
        md = durable_summary(results)
        with open(os.path.join(os.path.dirname(os.path.abspath(path)), "durable-table.md"), "w") as f:
            f.write(md)
        print(md)
        return
    rows = ratios(results)
    outdir = os.path.dirname(os.path.abspath(path))
    md = summary(results, rows) + peers_summary(results) + durable_summary(results)
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(md)
    print(md)
    chart(rows, os.path.join(outdir, "throughput.png"))
    print("wrote", os.path.join(outdir, "throughput.png"))
    if any(find(results, f"{cls}.{m}") for _, cls in PEERS for _, m in PEER_WORKLOADS):
        peers_chart(results, os.path.join(outdir, "peers.png"))
        print("wrote", os.path.join(outdir, "peers.png"))


if __name__ == "__main__":
    main()
