#!/usr/bin/env bash
# palisade audit of a large stand-in cluster (the stand-in API server is a
# mock: crates/palisade-standin), next to two references in the same run:
# the floor (every page of every LIST fetched and dropped by a minimal
# client: what the stand-in needs to serve the pages) and palisade scan of
# the same objects written to a file. Then the HTML report of the audit
# opened in headless chromium, its load time measured by the page itself.
#
#   bash bench/audit.sh            # 10,000 namespaces, 20,000 Deployments (+ ReplicaSets),
#                                  # 100,000 pods, 50,000 RoleBindings, pages of 500
# NAMESPACES=… DEPLOYMENTS=… PODS=… ROLEBINDINGS=… RUNS=… override the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/audit.sh
. bench/lib.sh

NAMESPACES=${NAMESPACES:-10000}
DEPLOYMENTS=${DEPLOYMENTS:-20000}
PODS=${PODS:-100000}
ROLEBINDINGS=${ROLEBINDINGS:-50000}
RUNS=${RUNS:-3}
OUT=bench/out/audit
mkdir -p "$OUT"
need_gnu_time

step "building palisade and the stand-in (release)"
cargo build --release -q -p palisade -p palisade-standin
PALISADE=target/release/palisade
STANDIN=target/release/palisade-standin

step "starting the stand-in: $NAMESPACES namespaces, $DEPLOYMENTS Deployments, $PODS pods, $ROLEBINDINGS RoleBindings"
"$STANDIN" serve --namespaces "$NAMESPACES" --deployments "$DEPLOYMENTS" --pods "$PODS" \
    --rolebindings "$ROLEBINDINGS" --kubeconfig "$OUT/kubeconfig" --dump "$OUT/cluster.jsonl" > "$OUT/standin.out" &
STANDIN_PID=$!
trap 'kill $STANDIN_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q '^ready' "$OUT/standin.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$OUT/standin.out" || die "the stand-in did not start"
URL=$(awk '/^ready/ {print $2}' "$OUT/standin.out")
note "$URL; $(wc -l < "$OUT/cluster.jsonl") objects, $(du -m "$OUT/cluster.jsonl" | cut -f1) MB as JSON"

step "timing $RUNS runs each, interleaved"
python3 - "$RUNS" "$URL" "$STANDIN" "$PALISADE" "$OUT" <<'PY'
import re, statistics, subprocess, sys
runs, url, standin, palisade, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
cmds = {
    "floor: every page fetched by a minimal client": [standin, "fetch", url, "500"],
    "palisade audit (all packs, JSON)": [palisade, "audit", "--kubeconfig", f"{out}/kubeconfig", "-f", "json", "-o", f"{out}/audit.json"],
    "palisade scan of the same objects in a file": [palisade, "scan", f"{out}/cluster.jsonl", "-f", "json", "-o", f"{out}/scan.json"],
}
res = {k: [] for k in cmds}
for _ in range(runs):
    for name, cmd in cmds.items():
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True)
        if p.returncode not in (0, 1):
            sys.exit(f"{name} failed ({p.returncode}): {p.stderr[-2000:]}")
        wall, rss = p.stderr.strip().splitlines()[-1].split()
        res[name].append((float(wall), int(rss) / 1024))
floor = statistics.mean(w for w, _ in res["floor: every page fetched by a minimal client"])
scan = statistics.mean(w for w, _ in res["palisade scan of the same objects in a file"])
print(f"| run | mean wall of {runs} | peak RSS | ratio |")
print("| --- | ---: | ---: | --- |")
for name, rs in res.items():
    w = statistics.mean(x for x, _ in rs)
    m = max(r for _, r in rs)
    ratio = "1 (floor)" if name.startswith("floor") else f"{w / floor:.2f}x floor"
    if name.startswith("palisade audit"):
        ratio += f"; {w / scan:.2f}x scan of the same objects"
    print(f"| {name} | {w:.2f} s | {m:.0f} MiB | {ratio} |")
PY

step "the HTML report of the audit in headless chromium"
[ -x /usr/bin/chromium ] || apt_install chromium || die "cannot install chromium"
"$PALISADE" audit --kubeconfig "$OUT/kubeconfig" -f html -o "$OUT/report.html" || [ $? = 1 ]
FINDINGS=$(python3 -c "import json,sys; print(len(json.load(open('$OUT/audit.json'))['findings']))")
# The page records when its script has drawn the table (after unpacking the
# findings, which it does after the load event); the virtual time budget
# makes chromium wait for that before it dumps the DOM. It only lets idle
# time pass instantly, so the work measured is real; the wall time of the
# whole chromium run is printed next to it as a check.
python3 - "$OUT/report.html" "$FINDINGS" <<'PY'
import os, re, subprocess, sys, time
page, findings = sys.argv[1], sys.argv[2]
html = open(page).read()
probe = page.replace(".html", "-timed.html")
open(probe, "w").write(html.replace('document.body.setAttribute("data-ready", "1");',
    'document.body.setAttribute("data-ready", "1"); document.body.setAttribute("data-ms", String(Math.round(performance.now())));'))
times = []
for _ in range(3):
    t = time.time()
    dom = subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--virtual-time-budget=60000", "--dump-dom", "file://" + os.path.abspath(probe)], capture_output=True, text=True).stdout
    wall = time.time() - t
    ms = re.search(r'data-ms="(\d+)"', dom)
    if not ms:
        sys.exit("the page did not finish drawing")
    times.append((int(ms.group(1)) / 1000, wall))
size = len(html.encode()) / 1e6
best = min(times)
print(f"HTML report of {findings} findings ({size:.1f} MB): drawn {best[0]:.2f} s after navigation started "
      f"(performance.now() at the end of the page's script, best of 3); chromium start to DOM dump {best[1]:.2f} s")
PY
