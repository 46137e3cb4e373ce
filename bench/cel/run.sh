#!/usr/bin/env bash
# CEL evaluation cost (palisade-cel through palisade-rego): µs per object
# for a 5-validation ValidatingAdmissionPolicy on a restricted Pod (the
# object's conversion for CEL included) against the 5 µs target, the same
# five checks as a Gatekeeper K8sNativeValidation template and as Rego, and
# single-threaded scan throughput with 20 ValidatingAdmissionPolicies
# against built-in rules only, on the same corpus in the same run.
#
# Usage, from the repository root:  bash bench/cel/run.sh
# Knobs (environment):
#   DOCS=100000  documents of the scan corpus (bench/gen_corpus.py)
#   SEED=20261101
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DOCS=${DOCS:-100000}
SEED=${SEED:-20261101}
OUT=bench/out/cel
CORPUS=$OUT/corpus-$DOCS.yaml
mkdir -p "$OUT"

command -v cargo >/dev/null || { echo "bench/cel/run.sh: cargo not found" >&2; exit 2; }
if [ ! -s "$CORPUS" ]; then
    command -v python3 >/dev/null || { echo "bench/cel/run.sh: python3 not found" >&2; exit 2; }
    echo "==> generating $CORPUS ($DOCS documents)" >&2
    python3 bench/gen_corpus.py "$DOCS" "$CORPUS" --seed "$SEED" >&2
fi

log=$OUT/bench.log
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$log"
CEL_CORPUS="$PWD/$CORPUS" cargo bench -p palisade-rego --bench cel -- --bench | tee -a "$log"
grep -q 'ValidatingAdmissionPolicies:' "$log" || { echo "bench/cel/run.sh: scan line missing" >&2; exit 1; }
