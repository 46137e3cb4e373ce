#!/usr/bin/env bash
# Pod Security Standards evaluation cost per pod (criterion), and the ratio
# to the upstream Go evaluator (k8s.io/pod-security-admission, ≈3 µs/pod).
#
# Usage, from the repository root:  bash bench/pss.sh [criterion args...]
#   e.g. bash bench/pss.sh --measurement-time 2 --warm-up-time 1   (quicker)
# Criterion's reports land in target/criterion/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo bench -p palisade-rules --bench pss -- "$@" | tee "$log"
echo
echo "== summary"
# The first `time:` after a benchmark's name is its estimate; later ones
# (under `change:`) compare with the previous run.
awk '/^(check|scan_bytes)\// { name = $1; seen = 0 }
     /time:/ && name != "" && !seen { sub(/.*time: */, ""); printf "%-36s %s\n", name, $0; seen = 1 }
     /^pss restricted eval/ { print }' "$log"
grep -q '^pss restricted eval: ' "$log" || { echo "bench/pss.sh: ratio line missing" >&2; exit 1; }
