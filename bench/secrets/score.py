#!/usr/bin/env python3
"""Precision and recall of palisade and detect-secrets against the planted truth.

Line-level matching: a finding counts as a true positive when a credential
was planted on the same file and line; a finding on any other line is a
false positive (several findings on one line count once). Lines listed as
`ignored` in the truth (the data of `kind: Secret` manifests) are not
scored for either tool.

palisade findings are JSON lines from `secrets_scan` (only the rules that
report credentials count: secrets/hardcoded-credential and
secrets/weak-credential); detect-secrets findings are its `scan` JSON.

Usage: score.py TRUTH PALISADE_JSONL DETECT_SECRETS_JSON [--timing FILE]
        [--misses FILE]
Prints a Markdown table; with --timing (JSON from run.sh) adds MB/s.
Standard library only.
"""

import argparse
import json
import os

CREDENTIAL_RULES = {"secrets/hardcoded-credential", "secrets/weak-credential"}


def key(file, line):
    return (os.path.basename(file), int(line))


def load_palisade(path):
    found = set()
    with open(path) as fh:
        for raw in fh:
            raw = raw.strip()
            if not raw:
                continue
            f = json.loads(raw)
            if f["rule"] in CREDENTIAL_RULES:
                found.add(key(f["file"], f["line"]))
    return found


def load_detect_secrets(path):
    with open(path) as fh:
        data = json.load(fh)
    found = set()
    for file, results in data.get("results", {}).items():
        for r in results:
            found.add(key(file, r["line_number"]))
    return found


def score(found, truth, ignored):
    found = found - ignored
    tp = len(found & truth)
    fp = len(found - truth)
    fn = len(truth - found)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("palisade")
    ap.add_argument("detect_secrets")
    ap.add_argument("--timing")
    ap.add_argument("--misses", help="write false negatives/positives per tool (JSON)")
    ap.add_argument("--json", help="write the scores as JSON")
    a = ap.parse_args()

    with open(a.truth) as fh:
        t = json.load(fh)
    truth = {key(p["file"], p["line"]) for p in t["planted"]}
    kinds = {key(p["file"], p["line"]): p["kind"] for p in t["planted"]}
    ignored = {key(p["file"], p["line"]) for p in t["ignored"]}

    tools = {
        "palisade": load_palisade(a.palisade),
        "detect-secrets": load_detect_secrets(a.detect_secrets),
    }
    scores = {name: score(found, truth, ignored) for name, found in tools.items()}
    timing = {}
    if a.timing:
        with open(a.timing) as fh:
            timing = json.load(fh)

    mb = t["bytes"] / 1e6
    print("Corpus: %d files, %.1f MB, %d planted credentials (%d kinds); line-level matching."
          % (t["files"], mb, len(truth), len(set(kinds.values()))))
    print()
    print("| tool | wall time (s) | MB/s | precision | recall | TP | FP | FN |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in scores.items():
        secs = timing.get(name, {}).get("seconds")
        print("| %s | %s | %s | %.3f | %.3f | %d | %d | %d |" % (
            name,
            "%.2f" % secs if secs else "-",
            "%.1f" % (mb / secs) if secs else "-",
            s["precision"], s["recall"], s["tp"], s["fp"], s["fn"]))
    ps, ds = timing.get("palisade", {}).get("seconds"), timing.get("detect-secrets", {}).get("seconds")
    if ps and ds:
        print()
        print("Time ratio detect-secrets / palisade: **%.0fx**" % (ds / ps))

    print()
    print("Recall by planted kind:")
    print()
    print("| kind | planted | palisade | detect-secrets |")
    print("| --- | ---: | ---: | ---: |")
    for kind in sorted(set(kinds.values())):
        lines = {k for k, v in kinds.items() if v == kind}
        row = [kind, str(len(lines))]
        for found in tools.values():
            row.append("%.3f" % (len(lines & found) / len(lines)))
        print("| " + " | ".join(row) + " |")

    if a.misses:
        out = {}
        for name, found in tools.items():
            found = found - ignored
            out[name] = {
                "false_negatives": sorted([f, l, kinds[(f, l)]] for f, l in truth - found),
                "false_positives": sorted([f, l] for f, l in found - truth),
            }
        with open(a.misses, "w") as fh:
            json.dump(out, fh, indent=1)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"scores": scores, "timing": timing, "bytes": t["bytes"]}, fh, indent=1)


if __name__ == "__main__":
    main()
