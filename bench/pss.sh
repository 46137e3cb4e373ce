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
grep -E '^(check|scan_bytes)/|^ +time:|^pss restricted eval' "$log" \
    | sed -E 's/^ +time:/    time:/' || true
grep -q '^pss restricted eval: ' "$log" || { echo "bench/pss.sh: ratio line missing" >&2; exit 1; }
