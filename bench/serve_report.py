#!/usr/bin/env python3
"""Markdown summary of bench/serve.sh (run by it; reads its environment).

Reads OUT/bodies/index.txt, OUT/runs/index.tsv, the oha JSON of every run,
its /usr/bin/time file and, for the fixed-rate runs, oha's SQLite record of
every request; prints the summary on stdout.
"""

import json
import math
import os
import sqlite3

E = os.environ
OUT = E["OUT"]
NPROC = int(E["NPROC"])
CLK_TCK = int(E["CLK_TCK"])
RATE = float(E["RATE"])
STEADY_SKIP = float(E["STEADY_SKIP"])

KYVERNO_MS = 44.0
P99_TARGET_MS = 1.0
RSS_TARGET_MIB = 64.0


def pct(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(1, math.ceil(q / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def load_run(run):
    d = json.load(open(os.path.join(OUT, "runs", run + ".json")))
    codes = {k: v for k, v in d.get("statusCodeDistribution", {}).items()}
    errs = d.get("errorDistribution", {})
    n200 = codes.get("200", 0)
    bad = sum(v for k, v in codes.items() if k != "200") + sum(errs.values())
    with open(os.path.join(OUT, "runs", run + ".time")) as f:
        line = [l for l in f.read().split("\n") if l.strip()][-1]
    elapsed, user, sys_ = (float(x) for x in line.split())
    return {
        "rps": d["summary"]["requestsPerSec"],
        "total_s": d["summary"]["total"],
        "p": {k: v * 1e3 for k, v in d["latencyPercentiles"].items()},
        "n200": n200,
        "bad": bad,
        "errors": errs,
        "codes": codes,
        "oha_cpu": (user + sys_) / elapsed if elapsed > 0 else float("nan"),
    }


def steady(run):
    """p99 / p99.9 / max (ms) of the requests scheduled after STEADY_SKIP s, from oha's SQLite."""
    path = os.path.join(OUT, "runs", run + ".sqlite")
    if not os.path.exists(path):
        return None
    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT duration FROM oha WHERE COALESCE(start_latency_correction, start) >= ? ORDER BY duration",
        (STEADY_SKIP,),
    ).fetchall()
    con.close()
    v = [r[0] * 1e3 for r in rows]
    return {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99), "p99.9": pct(v, 99.9), "max": v[-1] if v else float("nan")}


def main():
    bodies = []
    with open(os.path.join(OUT, "bodies", "index.txt")) as f:
        for line in f:
            name, expected, size = line.split()
            bodies.append((name, expected, int(size)))
    ticks, rss_after = {}, []
    with open(os.path.join(OUT, "runs", "index.tsv")) as f:
        for line in f:
            run, kind, t, rss = line.rstrip("\n").split("\t")
            ticks[run] = int(t)
            rss_after.append((run, int(rss) / 1024.0))

    sizes = f"{min(b[2] for b in bodies):,}–{max(b[2] for b in bodies):,}"
    rows = []
    all_runs = []
    for name, expected, size in bodies + [("mix", "random body per request", None)]:
        sat, rate = load_run(name + "-sat"), load_run(name + "-rate")
        st = steady(name + "-rate")
        cpu_us = ticks[name + "-sat"] / CLK_TCK / max(1, sat["n200"] + sat["bad"]) * 1e6
        cpu_us_rate = ticks[name + "-rate"] / CLK_TCK / max(1, rate["n200"] + rate["bad"]) * 1e6
        rows.append((name, expected, size, sat, rate, st, cpu_us, cpu_us_rate))
        all_runs += [(name + "-sat", sat), (name + "-rate", rate)]
    warm = load_run("warmup")

    out = []
    w = out.append
    w("# palisade serve: load benchmark")
    w("")
    w(f"Machine: {NPROC} cores (nproc), CPU model \"{E['CPU_MODEL']}\", {E['KERNEL']}; palisade {E['REV']}; {E['OHA_VERSION']}.")
    w("")
    w(f"**The load generator (oha) runs on the same {NPROC}-core machine as the server and competes with it for the "
      "same cores**: saturation throughput is what server and client together get out of them, and the latency "
      "figures include the client's own scheduling delays. Everything is HTTPS (ECDSA P-256 certificate, verified by oha against the throwaway CA) with "
      f"keep-alive, {E['CONNS']} connections, over loopback; requests go straight to /validate (no API server).")
    w("")
    w(f"Saturation: {E['SAT_DURATION']} per row, no rate limit. Fixed rate: {RATE:.0f} requests/s for "
      f"{E['RATE_DURATION']} per row with --latency-correction (latency measured from when each request was due). "
      f"\"steady p99.9\" leaves out requests due in the first {STEADY_SKIP:g} s (the {E['CONNS']} TLS handshakes), "
      "computed from oha's per-request SQLite record; every other latency is oha's own figure over all requests.")
    w("")
    w("| body | bytes | decision | saturation req/s | server CPU µs/req | p50 ms | p99 ms | p99.9 ms | steady p99.9 ms | achieved req/s | non-200 |")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, expected, size, sat, rate, st, cpu_us, _ in rows:
        label = "**mix** (all four, random per request)" if name == "mix" else f"`{name}`"
        w(f"| {label} | {f'{size:,}' if size else sizes} | {expected if name != 'mix' else '2 allowed, 2 denied'} | "
          f"{sat['rps']:,.0f} | {cpu_us:.0f} | {rate['p']['p50']:.3f} | {rate['p']['p99']:.3f} | {rate['p']['p99.9']:.3f} | "
          f"{st['p99.9']:.3f} | {rate['rps']:,.0f} | {rate['bad'] + sat['bad']} |")
    w("")
    w("non-200 counts responses other than 200 and transport errors, in the saturation and fixed-rate runs together "
      "(fixed rate alone: " + ", ".join(f"{n} {r['bad']}" for n, _, _, _, r, _, _, _ in rows) + ").")
    oha_sat = max(s["oha_cpu"] for n, s in all_runs if n.endswith("-sat"))
    oha_rate = max(s["oha_cpu"] for n, s in all_runs if n.endswith("-rate"))
    w(f"oha itself used up to {oha_sat:.2f} cores during saturation runs and up to {oha_rate:.2f} cores at {RATE:.0f} req/s "
      f"(of {NPROC}). Server CPU per request at {RATE:.0f} req/s: "
      + ", ".join(f"{n} {c:.0f} µs" for n, _, _, _, _, _, _, c in rows) + ".")
    w("")

    # Memory.
    rss_mib = int(E["MAXRSS_KIB"]) / 1024.0
    hwm = E.get("HWM_KIB", "")
    w(f"Server peak RSS: **{rss_mib:.1f} MiB** (/usr/bin/time %M after a graceful SIGTERM stop"
      + (f"; /proc VmHWM just before the stop: {int(hwm) / 1024.0:.1f} MiB" if hwm else "")
      + f"; server exit status {E['SERVER_RC']}). "
      f"RSS (VmRSS) when ready, before any request: {int(E['IDLE_RSS_KIB']) / 1024.0:.1f} MiB; after each run: "
      + ", ".join(f"{r} {m:.1f}" for r, m in rss_after) + " MiB.")

    # Decision log consistency.
    log = os.path.join(OUT, "decisions.jsonl")
    lines = allow = deny = 0
    with open(log, "rb") as f:
        for line in f:
            lines += 1
            if b'"decision":"allow"' in line:
                allow += 1
            elif b'"decision":"deny"' in line:
                deny += 1
    answered = sum(r["n200"] for _, r in all_runs) + warm["n200"] + len(bodies)
    w(f"Decision log: {lines:,} lines ({allow:,} allow, {deny:,} deny); requests answered 200 "
      f"(sanity + warm-up + runs): {answered:,}" + (" (match)." if lines == answered else " (**MISMATCH**)."))
    w("")

    # Anchors and targets.
    mix = next(r for r in rows if r[0] == "mix")
    p50 = mix[4]["p"]["p50"]
    worst_p99_name, worst_p99 = max(((r[0], r[4]["p"]["p99"]) for r in rows), key=lambda x: x[1])
    worst_steady = max(r[5]["p99"] for r in rows)
    total_bad = sum(r["bad"] for _, r in all_runs)
    w("## Against the anchors and targets")
    w("")
    w(f"- Kyverno publishes 44 ms average (through the API server, 17 PSS policies): 44 ms / palisade p50 "
      f"{p50:.3f} ms (mix at {RATE:.0f} req/s) = **{KYVERNO_MS / p50:,.0f}x**. Not like for like: Kyverno's figure "
      "is an average measured through the API server; palisade's is a p50 measured at the webhook over loopback.")
    w(f"- Upstream PSA evaluates a pod in about 3 µs in-process (context only: palisade's figures above are whole "
      f"HTTPS requests, TLS + HTTP + JSON decode + every PSS, image and secrets rule + decision log; server CPU per "
      f"request at saturation: {min(r[6] for r in rows):.0f}–{max(r[6] for r in rows):.0f} µs).")
    met = worst_p99 < P99_TARGET_MS and total_bad == 0
    w(f"- Target p99 under 1 ms at 2,000 requests/s on 2 cores: worst p99 {worst_p99:.3f} ms ({worst_p99_name}), "
      f"mix {mix[4]['p']['p99']:.3f} ms (leaving out the first {STEADY_SKIP:g} s, worst p99 {worst_steady:.3f} ms), on {NPROC} cores shared with the load generator, non-200 {total_bad} "
      f"-> **{'met' if met else 'NOT met'}**" + ("" if RATE == 2000 and NPROC == 2 else
      f" (note: this run used {RATE:.0f} req/s on {NPROC} cores)") + ".")
    w(f"- Target memory under 64 MiB: peak RSS {rss_mib:.1f} MiB -> **{'met' if rss_mib < RSS_TARGET_MIB else 'NOT met'}**.")
    w("")
    w("## Commands")
    w("")
    w("```")
    w("bash bench/serve.sh")
    w("cargo build --release -p palisade")
    w(E["SERVER_CMD_Q"].strip())
    with open(os.path.join(OUT, "commands.txt")) as f:
        for line in f:
            w(line.rstrip())
    w("```")
    print("\n".join(out))


if __name__ == "__main__":
    main()
