#!/usr/bin/env bash
# The YAML parse floor before and after palisade's patch to saphyr-parser
# (patches/README.md), next to libyaml's grammar in Rust, on the same file
# in the same run: each parser pulls every event of the corpus, building
# nothing. Prints each mean and its ratio to the patched parser.
#
#   bash bench/yaml.sh [DOCS]     # default 50,000 generated documents
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/yaml.sh
. bench/lib.sh

DOCS=${1:-50000}
RUNS=${RUNS:-5}
CORPUS=bench/out/yaml-corpus-$DOCS.yaml

step "building the parse-only drivers (release)"
cargo build --release -q -p palisade-bench --bin parse_only
CARGO_TARGET_DIR=target/saphyr-upstream cargo build --release -q \
    --manifest-path bench/saphyr-upstream/Cargo.toml
PATCHED="target/release/parse_only --parser palisade"
LIBYAML="target/release/parse_only --parser libyaml"
UPSTREAM=target/saphyr-upstream/release/saphyr-upstream

mkdir -p bench/out
[ -s "$CORPUS" ] || python3 bench/gen_corpus.py "$DOCS" "$CORPUS" >&2
BYTES=$(stat -c %s "$CORPUS")

# The three parsers must agree on the corpus before they are timed.
a=$($PATCHED "$CORPUS"); b=$($UPSTREAM "$CORPUS"); c=$($LIBYAML "$CORPUS")
[ "$a" = "$b" ] || die "patched and upstream disagree: $a / $b"
case "$c" in "documents=$DOCS "*) ;; *) die "libyaml-safer: $c" ;; esac
note "$a"

step "timing $RUNS runs of each, interleaved"
python3 - "$RUNS" "$BYTES" "$CORPUS" "$PATCHED" "$UPSTREAM" "$LIBYAML" <<'PY'
import statistics, subprocess, sys, time
runs, size, corpus = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
names = ["palisade (patched saphyr-parser 0.3.4)", "saphyr-parser 0.3.4 unpatched", "libyaml-safer 0.3 (libyaml grammar)"]
cmds = [c.split() + [corpus] for c in sys.argv[4:7]]
times = [[] for _ in cmds]
for _ in range(runs + 1):  # the first round warms the page cache
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL)
        times[i].append(time.perf_counter() - t)
means = [statistics.mean(t[1:]) for t in times]
print(f"| parser | mean of {runs} | MB/s | ratio to palisade |")
print("| --- | ---: | ---: | ---: |")
for n, m in zip(names, means):
    print(f"| {n} | {m:.3f} s | {size / m / 1e6:.1f} | {m / means[0]:.2f}x |")
PY
