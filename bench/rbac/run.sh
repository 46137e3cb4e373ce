#!/usr/bin/env bash
# RBAC analysis benchmark: generates clusters of three sizes (a quarter,
# half and all of the issue's 10,000 namespaces / 50,000 RoleBindings /
# 2,000 ClusterRoles / 100,000 pods), loads each as `palisade scan` does and
# analyses it. Prints load and analysis seconds, peak RSS of the whole
# process (/usr/bin/time) and the analysis' own memory, and how linear the
# analysis time and memory are (1.00 = exactly linear).
#
# Usage: bench/rbac/run.sh [SCALES...]   (default: 0.25 0.5 1.0)
# Data goes to $OUT (default ${TMPDIR:-/tmp}/palisade-rbac-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."

scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(0.25 0.5 1.0)
out=${OUT:-${TMPDIR:-/tmp}/palisade-rbac-bench}
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 2; }

cargo build --quiet --release -p palisade-bench --bin gen_cluster --bin analyze_cluster
bin=target/release

results=()
for scale in "${scales[@]}"; do
    dir="$out/$scale"
    rm -rf "$dir"
    gen=$("$bin/gen_cluster" --scale "$scale" "$dir")
    line=$(/usr/bin/time -f "peak_kib=%M wall_s=%e" -o "$dir/time.txt" "$bin/analyze_cluster" "$dir")
    results+=("scale=$scale $gen $line $(cat "$dir/time.txt")")
    echo "scale=$scale $gen" >&2
done

printf '%s\n' "${results[@]}" | awk '
function get(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return 0 }
{
    n++; scale[n] = get("scale"); rb[n] = get("rolebindings"); pods[n] = get("pods")
    load[n] = get("load_s"); an[n] = get("analyze_s"); q[n] = get("queries_s")
    peak[n] = get("peak_kib") / 1024; amem[n] = get("rss_after_mib") - get("rss_before_mib")
    fnd[n] = get("findings"); risky[n] = get("risky_pods")
}
END {
    printf "%-6s %8s %8s %9s %8s %11s %10s %10s %9s %10s\n", "scale", "rolebind", "pods", "findings", "load_s", "analyze_s", "queries_s", "peak_MiB", "anal_MiB", "riskypods"
    for (i = 1; i <= n; i++)
        printf "%-6s %8d %8d %9d %8.3f %11.3f %10.3f %10.1f %9.1f %10d\n", scale[i], rb[i], pods[i], fnd[i], load[i], an[i], q[i], peak[i], amem[i], risky[i]
    if (n >= 2 && an[1] > 0 && amem[1] > 0) {
        k = (scale[n] / scale[1])
        printf "linearity (largest vs smallest, size x%.1f): analyze time x%.2f (ratio %.2f), analysis memory x%.2f (ratio %.2f), peak RSS x%.2f (ratio %.2f)\n", k, an[n] / an[1], (an[n] / an[1]) / k, amem[n] / amem[1], (amem[n] / amem[1]) / k, peak[n] / peak[1], (peak[n] / peak[1]) / k
    }
}'
