#!/usr/bin/env bash
# Gatekeeper/Rego evaluation cost (palisade-rego): µs per object per
# constraint for a few realistic templates (host namespaces, privileged
# containers with a lib, allowed repos with parameters, required labels,
# unique Ingress host over an inventory of 10,000 objects), the ratio to the
# 5 µs/evaluation target, on regorus's VM and (before) its interpreter, and
# scan throughput with 20 constraints loaded against built-in rules only
# (one thread, and every core).
#
# Usage, from the repository root:  bash bench/rego/run.sh [criterion args...]
#   e.g. bash bench/rego/run.sh --measurement-time 2 --warm-up-time 1   (quicker)
# Knobs (environment):
#   DOCS=100000  documents of the scan corpus (generated with bench/gen_corpus.py)
#   SEED=20261101
# Criterion's reports land in target/criterion/eval/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DOCS=${DOCS:-100000}
SEED=${SEED:-20261101}
OUT=bench/out/rego
CORPUS=$OUT/corpus-$DOCS.yaml
mkdir -p "$OUT"

command -v cargo >/dev/null || { echo "bench/rego/run.sh: cargo not found" >&2; exit 2; }
if [ ! -s "$CORPUS" ]; then
    command -v python3 >/dev/null || { echo "bench/rego/run.sh: python3 not found" >&2; exit 2; }
    echo "==> generating $CORPUS ($DOCS documents)" >&2
    python3 bench/gen_corpus.py "$DOCS" "$CORPUS" --seed "$SEED" >&2
fi

log=$OUT/bench.log
REGO_CORPUS="$PWD/$CORPUS" cargo bench -p palisade-rego --bench rego -- "$@" | tee "$log"
echo
echo "== summary (load average: $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$OUT/summary.txt"
# The first `time:` after a benchmark's name is its estimate.
awk '/^eval\// { name = $1; seen = 0 }
     /time:/ && name != "" && !seen { sub(/.*time: */, ""); printf "%-44s %s\n", name, $0; seen = 1 }
     /^== rego evaluation/, 0 { print }' "$log" | tee -a "$OUT/summary.txt"
grep -q '^scan ' "$log" || { echo "bench/rego/run.sh: scan line missing" >&2; exit 1; }
