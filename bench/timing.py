#!/usr/bin/env python3
"""Timing helpers for bench/run.sh. Standard library only.

    timing.py run --runs N --warmup W --export-json FILE -- COMMAND
        Times a shell command the way `hyperfine --ignore-failure` does when
        hyperfine is not installed, and writes the same JSON shape
        (results[0].mean/stddev/min/max/user/system/times/exit_codes).

    timing.py report --docs N --bytes B ... (see --help)
        Reads the JSON files of one run.sh invocation and prints the results
        and the Markdown summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def cmd_run(a: argparse.Namespace) -> int:
    command = " ".join(a.command)
    times: list[float] = []
    users: list[float] = []
    systems: list[float] = []
    codes: list[int] = []
    for i in range(a.warmup + a.runs):
        before = os.times()
        start = time.perf_counter()
        rc = subprocess.call(command, shell=True)
        wall = time.perf_counter() - start
        after = os.times()
        if i < a.warmup:
            continue
        times.append(wall)
        users.append(after.children_user - before.children_user)
        systems.append(after.children_system - before.children_system)
        codes.append(rc)
        print(f"  run {len(times)}/{a.runs}: {wall:.3f} s (exit {rc})", file=sys.stderr)
    result = {
        "command": command,
        "mean": statistics.fmean(times),
        "stddev": statistics.stdev(times) if len(times) > 1 else None,
        "median": statistics.median(times),
        "user": statistics.fmean(users),
        "system": statistics.fmean(systems),
        "min": min(times),
        "max": max(times),
        "times": times,
        "exit_codes": codes,
    }
    with open(a.export_json, "w", encoding="utf-8") as f:
        json.dump({"results": [result]}, f, indent=2)
    return 0


def load(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)["results"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def fmt_time(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.1f}"


def cmd_report(a: argparse.Namespace) -> int:
    out = a.out_dir
    floor = load(os.path.join(out, "t-parse.json"))
    scan1 = load(os.path.join(out, "t-scan-1.json"))
    scand = load(os.path.join(out, "t-scan-default.json"))
    scan_pss = load(os.path.join(out, "t-scan-1-pss.json"))
    quiet_all = load(os.path.join(out, "t-scan-1-quiet.json"))
    quiet_pss = load(os.path.join(out, "t-scan-1-pss-quiet.json"))
    slice_1 = load(os.path.join(out, "t-slice-scan-1.json"))
    slice_d = load(os.path.join(out, "t-slice-scan-default.json"))
    checkov = load(os.path.join(out, "t-slice-checkov.json"))

    rows = []

    def row(name: str, r: dict | None, docs: int, size: int, note: str = "") -> None:
        if r is None:
            return
        m = r["mean"]
        sd = r.get("stddev")
        n = len(r.get("times") or [])
        wall = f"{fmt_time(m)} ± {fmt_time(sd)}" if sd is not None else f"{fmt_time(m)} (1 run)"
        cpu = (r.get("user") or 0.0) + (r.get("system") or 0.0)
        mbs = size / 1e6 / m
        rows.append((name, docs, size, wall, n, f"{cpu:.2f} s",
                     fmt_rate(docs / m), f"{mbs:.1f}" if mbs >= 1 else f"{mbs:.3f}", note))

    row("parse-only floor (saphyr-parser events)", floor, a.docs, a.bytes)
    row("palisade scan --threads 1", scan1, a.docs, a.bytes,
        f"{scan1['mean'] / floor['mean']:.2f}x floor" if scan1 and floor else "")
    row("palisade scan --threads 1, PSS pack only", scan_pss, a.docs, a.bytes,
        f"{scan_pss['mean'] / floor['mean']:.2f}x floor" if scan_pss and floor else "")
    row("palisade scan --threads 1 --quiet (summary only)", quiet_all, a.docs, a.bytes,
        f"{quiet_all['mean'] / floor['mean']:.2f}x floor" if quiet_all and floor else "")
    row("palisade scan --threads 1 --quiet, PSS pack only", quiet_pss, a.docs, a.bytes,
        f"{quiet_pss['mean'] / floor['mean']:.2f}x floor" if quiet_pss and floor else "")
    row(f"palisade scan (default threads, {a.cpus} CPUs)", scand, a.docs, a.bytes,
        f"{scand['mean'] / floor['mean']:.2f}x floor" if scand and floor else "")
    row("palisade scan --threads 1 (slice)", slice_1, a.slice_docs, a.slice_bytes)
    row("palisade scan (slice)", slice_d, a.slice_docs, a.slice_bytes)
    if checkov:
        note = ""
        if slice_d:
            note = f"{checkov['mean'] / slice_d['mean']:.0f}x palisade"
        row("checkov --framework kubernetes (slice)", checkov, a.slice_docs, a.slice_bytes, note)

    lines = []
    lines.append(f"Corpus: {a.docs} documents, {a.bytes / 1e6:.1f} MB "
                 f"({a.bytes / max(a.docs, 1):.0f} B/document; generated by `bench/gen_corpus.py`, seed {a.seed}); "
                 f"slice: first {a.slice_docs} documents, {a.slice_bytes / 1e6:.2f} MB.")
    lines.append(f"Machine: {a.machine}.")
    lines.append("")
    lines.append("| run | documents | wall (mean ± sd) | runs | CPU (user+sys) | documents/s | MB/s | note |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, docs, _size, wall, n, cpu, dps, mbs, note in rows:
        lines.append(f"| {name} | {docs} | {wall} | {n} | {cpu} | {dps} | {mbs} | {note} |")
    lines.append("")
    scan = None
    try:
        with open(os.path.join(out, "scan.json"), encoding="utf-8") as f:
            scan = json.load(f)["summary"]
    except (OSError, ValueError, KeyError):
        pass
    if scan:
        fc = scan["findings"]
        lines.append(f"palisade on the corpus: {scan['documents']} documents, {scan['workloads']} workloads, "
                     f"{sum(fc.values())} findings (critical {fc['critical']}, high {fc['high']}, "
                     f"medium {fc['medium']}, low {fc['low']}), {scan['errors']} input errors; "
                     f"level restricted, version latest. MB = 10^6 bytes.")
        lines.append("")
    rss = {}
    for name in ("parse", "scan"):
        try:
            with open(os.path.join(out, f"rss-{name}.txt"), encoding="utf-8") as f:
                rss[name] = int(f.read().split()[-1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    if rss:
        parts = []
        if "parse" in rss:
            parts.append(f"parse-only floor {rss['parse'] / 1e6:.0f} MB")
        if "scan" in rss:
            parts.append(f"palisade scan {rss['scan'] / 1e6:.0f} MB ({rss['scan'] / a.bytes:.1f}x the input)")
        lines.append("Peak RSS on the corpus (GNU time, default threads): " + ", ".join(parts) + ".")
        lines.append("")
    verdicts = []
    if floor and scan1:
        r1 = scan1["mean"] / floor["mean"]
        verdicts.append(f"- scan (1 thread) / parse floor = **{r1:.2f}x** (target ≤ 2x: {'met' if r1 <= 2 else 'NOT met'})")
    if floor and scand:
        rd = scand["mean"] / floor["mean"]
        verdicts.append(f"- scan (default threads) / parse floor = **{rd:.2f}x** (target ≤ 2x: {'met' if rd <= 2 else 'NOT met'})")
    if scan1 and scan_pss:
        rp = scan1["mean"] / scan_pss["mean"]
        verdicts.append(f"- all packs / PSS pack only (1 thread) = **{rp:.2f}x** (target ≤ 1.5x: {'met' if rp <= 1.5 else 'NOT met'})")
    if quiet_all and quiet_pss:
        rq = quiet_all["mean"] / quiet_pss["mean"]
        verdicts.append(f"- all packs / PSS pack only (1 thread, summary output) = **{rq:.2f}x** (target ≤ 1.5x: {'met' if rq <= 1.5 else 'NOT met'})")
    if checkov and slice_d:
        rc = checkov["mean"] / slice_d["mean"]
        per_doc_ms = checkov["mean"] / a.slice_docs * 1000
        verdicts.append(f"- Checkov / palisade on the same {a.slice_docs} documents = **{rc:.0f}x** "
                        f"(target ≥ 100x: {'met' if rc >= 100 else 'NOT met'})")
        if slice_1:
            verdicts.append(f"- Checkov / palisade --threads 1 on the same slice = {checkov['mean'] / slice_1['mean']:.0f}x")
        extra = f"- Checkov costs {per_doc_ms:.2f} ms/document; extrapolated to {a.docs} documents: " \
                f"{fmt_time(per_doc_ms / 1000 * a.docs)}"
        if scand:
            extra += f" vs palisade's measured {fmt_time(scand['mean'])} " \
                     f"(≈{per_doc_ms / 1000 * a.docs / scand['mean']:.0f}x)"
        verdicts.append(extra)
        if a.checkov_version:
            verdicts.append(f"- Checkov version: {a.checkov_version}")
    elif a.checkov_note:
        verdicts.append(f"- Checkov: {a.checkov_note}")
    lines.extend(verdicts)
    lines.append("")
    lines.append("Reproduce: `" + a.command + "`")
    lines.append("")
    lines.append("Commands timed:")
    lines.append("")
    lines.append("```")
    for r in (floor, scan1, scan_pss, quiet_all, quiet_pss, scand, slice_1, slice_d, checkov):
        if r:
            lines.append(r["command"])
    lines.append("```")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="timing helpers for bench/run.sh")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--warmup", type=int, default=1)
    r.add_argument("--export-json", required=True)
    r.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--docs", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--slice-docs", type=int, required=True)
    p.add_argument("--slice-bytes", type=int, required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--cpus", required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--checkov-version", default="")
    p.add_argument("--checkov-note", default="")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.command and a.command[0] == "--":
            a.command = a.command[1:]
        if not a.command:
            ap.error("run: no command")
        return cmd_run(a)
    return cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
