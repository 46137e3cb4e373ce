#!/usr/bin/env bash
# Vulnerability matching benchmark: imports the whole OSV corpus beside the
# repository (corpora/osv: the Go vulnerability database, the PyPA advisory
# database in YAML, RustSec's OSV export) into a database file, as
# `palisade db import` does, and looks up QUERIES components with the call
# `palisade image` makes per package (bench/drivers/src/bin/vulndb_match.rs):
#   image  every package the advisories name once, at a version they name,
#          the rest packages no advisory names (as in images);
#   worst  every component at a version the advisories name (the most
#          advised packages over and over).
# Each against the floor of the same indexed SQLite look-ups with nothing
# decoded or compared; prints the times, the ratios and the target
# (50,000 components in under 1 s).
#
# Usage, from anywhere:  bash bench/vulndb/run.sh
# Knobs: QUERIES=50000, CORPUS=../shared/corpora/osv (beside the repository),
#        OUT=bench/out/vulndb
set -euo pipefail
cd "$(dirname "$0")/../.."

QUERIES=${QUERIES:-50000}
CORPUS=${CORPUS:-../shared/corpora/osv}
OUT=${OUT:-bench/out/vulndb}
[ -d "$CORPUS/golang-vulndb" ] || { echo "run.sh: the OSV corpus is not at $CORPUS (set CORPUS=...)" >&2; exit 2; }
mkdir -p "$OUT"

cargo build --quiet --release -p palisade-bench --bin vulndb_match
line=$(target/release/vulndb_match --db "$OUT/vuln.db" --queries "$QUERIES" \
    "$CORPUS/golang-vulndb/data" "$CORPUS/pypa-advisory-database/vulns" "$CORPUS/rustsec-advisory-db/osv-branch")
echo "$line" >"$OUT/result.txt"

echo "$line" | tr ' ' '\n' | awk -F= -v cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" '
{ v[$1] = $2 }
END {
    printf "# palisade vulnerability matching (%s)\n\n", cpu
    printf "Command: `bash bench/vulndb/run.sh`\n\n"
    printf "Imported %d OSV records (Go, PyPI, crates.io) in %.2f s.\n\n", v["records"], v["import_s"]
    printf "| set | components | with a match | matches | rows read | palisade s | floor s (bare SQLite) | ratio | per component |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    n = split("image worst", sets, " ")
    for (i = 1; i <= n; i++) {
        s = sets[i]
        printf "| %s | %d | %d | %d | %d | %.3f | %.3f | %.2fx | %.1f us |\n", s, v["queries"], v[s "_matched"], v[s "_matches"], v[s "_rows"], v[s "_match_s"], v[s "_floor_s"], v[s "_ratio"], v[s "_per_query_us"]
    }
    printf "\n`image`: %d packages named by advisories, once each, the rest named by none. `worst`: %d distinct advised components, cycled.\n", v["advised_packages"], v["worst_distinct"]
    printf "\nTarget: %d components in under 1 s (image): %s\n", v["queries"], (v["image_match_s"] < 1 ? "met" : "MISSED")
}' | tee "$OUT/summary.md"
