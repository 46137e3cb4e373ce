#!/usr/bin/env python3
"""Markdown summary of bench/image/run.sh, from the files it left in OUT.

Reads OUT/images.json (bench/image/build.py), RUNDIR/index.tsv (one line per
timed command: name, image, kind, busy CPU ticks of the machine, wall
seconds of the timing), RUNDIR/t-NAME.json (hyperfine's JSON, or
bench/timing.py's) and RUNDIR/rss-NAME.txt (/usr/bin/time -v of the sanity
runs). Everything else comes from the environment run.sh sets. Standard
library only.
"""

from __future__ import annotations

import json
import os
import re
import statistics

OUT = os.environ["OUT"]
RUNDIR = os.environ["RUNDIR"]
CLK_TCK = int(os.environ.get("CLK_TCK", "100"))
NPROC = int(os.environ.get("NPROC", "1"))
RUNS = int(os.environ.get("RUNS", "3"))
TARGET_RATIO = 1.3
TARGET_RSS_MIB = 100
MiB = 1 << 20

desc = json.load(open(os.path.join(OUT, "images.json")))
images = desc["images"]

rows = []
with open(os.path.join(RUNDIR, "index.tsv")) as f:
    for line in f:
        name, image, kind, busy, wall = line.rstrip("\n").split("\t")
        r = json.load(open(os.path.join(RUNDIR, f"t-{name}.json")))["results"][0]
        median = r.get("median") or statistics.median(r["times"])
        cpu = r["user"] + r["system"]
        runs = len(r["times"])
        other = (int(busy) / CLK_TCK - runs * cpu) / (float(wall) * NPROC)
        rows.append({"name": name, "image": image, "kind": kind, "median": median,
                     "min": min(r["times"]), "max": max(r["times"]), "cpu": cpu,
                     "other": max(0.0, other), "command": r["command"]})
by_name = {r["name"]: r for r in rows}


def rss_mib(name: str) -> float | None:
    try:
        text = open(os.path.join(RUNDIR, f"rss-{name}.txt")).read()
    except OSError:
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return int(m.group(1)) / 1024 if m else None


def fmt(x: float | None, spec: str = ".2f", none: str = "–") -> str:
    return none if x is None else format(x, spec)


LABEL = {
    "floor": None,  # by compression
    "pigz": "pigz -dc (floor)",
    "palisade": "palisade image",
    "palisade-noapps": "palisade image --skip-applications",
    "palisade-vuln": "palisade image + vulnerability DB",
    "registry-floor": "curl \\| pigz -dc, per layer (floor)",
    "registry-palisade": "palisade image from the registry",
}
RSS_OF = {"palisade": lambda im: im, "palisade-vuln": lambda im: "realistic-gzip-vuln",
          "registry-palisade": lambda im: "registry"}
FLOOR_OF = {"palisade", "palisade-noapps", "palisade-vuln"}
TARGET_APPS = 1.10


def floor_of(image: str):
    """The floor of an image: pigz -dc for gzip where it ran, else zcat or zstd -dc."""
    return by_name.get(f"{image}-pigz") or by_name.get(f"{image}-floor")


def floor_label(image: str) -> str:
    if images[image]["compression"] != "gzip":
        return "zstd -dc"
    return "pigz -dc" if by_name.get(f"{image}-pigz") else "zcat"

out = []
p = out.append
p("# palisade image: whole-image scan against the decompression floor")
p("")
p(f"{NPROC} CPUs ({os.environ.get('CPU_MODEL') or 'unknown CPU'}), {os.environ.get('KERNEL', '')}, "
  f"{os.environ.get('RUSTC', '')}, palisade {os.environ.get('REV', '')}, timer {os.environ.get('TIMER', '')}; "
  f"{os.environ.get('ZCAT_VERSION', '')}"
  + (f", {os.environ['ZSTD_VERSION']}" if os.environ.get("ZSTD_VERSION") else "")
  + (f", {os.environ['REGISTRY_VERSION']}" if os.environ.get("REGISTRY_VERSION") else "") + ".")
p("")
p(f"Command: `{os.environ.get('CMDLINE', 'bash bench/image/run.sh')}`")
p("")
p("## Images")
p("")
p("| image | layers | tar entries | uncompressed | stored | built from |")
p("|---|---:|---:|---:|---:|---|")
for name, im in images.items():
    what = (f"files of this system in five distro-like layers ({im.get('app_bytes', 0) / MiB:.0f} MiB of them "
            "Go binaries, site-packages and node_modules), planted credentials"
            if name.startswith("realistic") else "generated source and configuration text, planted credentials")
    p(f"| {name} | {len(im['layers'])} | {im['entries']} | {im['uncompressed_bytes'] / MiB:.0f} MiB | "
      f"{im['compressed_bytes'] / MiB:.0f} MiB ({im['compression']}) | {what} |")
p("")
p(f"## Timings (median of {RUNS} runs, page cache warm)")
p("")
p("Throughput is uncompressed layer bytes (the tar streams) per wall second, MB = 10^6 bytes. "
  "The ratio is the median wall time over the floor's for the same image. "
  "`other CPU` is the share of the machine's CPU time used by other processes while the command was timed.")
p("")
p("| image | command | wall s (min–max) | CPU s | MB/s | ratio to floor | peak RSS | other CPU |")
p("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    im = images[r["image"]]
    label = LABEL.get(r["kind"]) or ("zcat (GNU gzip, for comparison)" if im["compression"] == "gzip" else "zstd -dc (floor)")
    floor = None
    if r["kind"] == "registry-palisade":
        floor = by_name.get("registry-floor")
    elif r["kind"] in FLOOR_OF or r["kind"] == "floor":
        floor = floor_of(r["image"])
    ratio = r["median"] / floor["median"] if floor and floor is not r else None
    rss = rss_mib(RSS_OF[r["kind"]](r["image"])) if r["kind"] in RSS_OF else None
    mbps = im["uncompressed_bytes"] / 1e6 / r["median"]
    p(f"| {r['image']} | {label} | {r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f}) | {r['cpu']:.2f} | "
      f"{mbps:.0f} | {fmt(ratio, '.2f') + 'x' if ratio else '–'} | "
      f"{fmt(rss, '.1f') + ' MiB' if rss else '–'} | {r['other'] * 100:.0f}% |")
p("")
p("## Targets")
p("")
p(f"| target | image | measured | verdict |")
p("|---|---|---:|---|")
for r in rows:
    if r["kind"] not in ("palisade", "registry-palisade"):
        continue
    floor = floor_of(r["image"]) if r["kind"] == "palisade" else by_name.get("registry-floor")
    if not floor:
        continue
    ratio = r["median"] / floor["median"]
    where = r["image"] + (" (from the registry)" if r["kind"] == "registry-palisade" else "")
    fl = "curl \\| " + floor_label(r["image"]) if r["kind"] == "registry-palisade" else floor_label(r["image"])
    p(f"| scan within {TARGET_RATIO}x of {fl} | {where} | {ratio:.2f}x | "
      f"{'met' if ratio <= TARGET_RATIO else 'MISSED'} |")
for r in rows:
    if r["kind"] != "palisade" or f"{r['image']}-noapps" not in by_name:
        continue
    ratio = r["median"] / by_name[f"{r['image']}-noapps"]["median"]
    p(f"| application packages within {TARGET_APPS:.2f}x of the scan without (--skip-applications) | "
      f"{r['image']} | {ratio:.2f}x | {'met' if ratio <= TARGET_APPS else 'MISSED'} |")
for name, where in (("realistic-gzip", "realistic-gzip (from disk)"), ("realistic-zstd", "realistic-zstd (from disk)"),
                    ("registry", "realistic-gzip (from the registry)")):
    rss = rss_mib(name)
    if rss is None:
        continue
    size = images["realistic-gzip"]["uncompressed_bytes"] / MiB
    p(f"| peak RSS under {TARGET_RSS_MIB} MiB ({size:.0f} MiB image) | {where} | {rss:.1f} MiB | "
      f"{'met' if rss < TARGET_RSS_MIB else 'MISSED'} |")
p("")
notes = []
if os.environ.get("PUSH_SECONDS"):
    notes.append(f"skopeo pushed realistic-gzip to the loopback registry in {os.environ['PUSH_SECONDS']} s (not timed above).")
busiest = max((r["other"] for r in rows), default=0)
if busiest > 0.2:
    notes.append(f"Other processes used up to {busiest * 100:.0f}% of the machine's CPU while commands were timed: "
                 "absolute times are inflated; the ratios less so, as each floor and palisade run back to back.")
notes.append("Floors decompress every layer blob one after the other to /dev/null; "
             "pigz decodes on one thread (it only reads, writes and checks on others), as palisade does; "
             "GNU zcat is shown for comparison only. "
             "The registry floor pipes each blob from curl into the decoder. palisade reads the same blobs, "
             "checks their sha256 digests, walks every tar entry and runs its analyzers.")
p("Notes:")
p("")
for n in notes:
    p(f"- {n}")
p("")
p("Timed commands:")
p("")
p("```")
for r in rows:
    p(r["command"])
p("```")
print("\n".join(out))
