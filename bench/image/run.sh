#!/usr/bin/env bash
# Whole-image benchmark of `palisade image`: one streaming pass over every
# layer (decompress, walk the tar entries, secrets/packages/OS/minimality
# analyzers, final filesystem) against the physical floor of merely
# decompressing the same layers.
#
# Builds palisade (release) and, with bench/image/build.py, OCI image
# layouts under bench/out/image/ (rebuilt only when the knobs or build.py
# change):
#   realistic  about IMAGE_MB MiB uncompressed in five layers of files copied
#              from this system (base system, documentation, language
#              runtimes, an application tree, a configuration layer), with
#              planted credentials, one of them deleted by the last layer;
#   text       about TEXT_MB MiB of generated source code and configuration
#              in two layers: every file is text the secrets scanner reads;
# each compressed with gzip (level 6, as docker) and zstd (level 3, as
# BuildKit). For each of them, RUNS timed runs (median) of:
#   floor      pigz -dc (gzip: zlib's decoder, the fastest here; GNU zcat
#              too, which is several times slower) or zstd -dc (zstd) of
#              every layer blob, one after the other, to /dev/null
#   palisade   palisade image oci:DIR:t --format json --no-cache
#              --skip-vulnerabilities --output /dev/null
#   no apps    the same with --skip-applications (no application packages
#              read: Go binaries, site-packages, node_modules, jars...)
# plus one run under /usr/bin/time -v for the peak RSS, which also checks
# that the planted credentials are reported; then palisade on the realistic
# gzip image with a vulnerability database (one advisory, so the package
# look-ups happen); then the registry path: Debian's docker-registry on
# loopback, the realistic gzip image pushed with skopeo, and palisade
# pulling and scanning it over plain HTTP (streamed, never stored), against
# the floor `curl BLOB | pigz -dc > /dev/null` of every layer.
# Then the inventory of the realistic image (CycloneDX) must name Go, PyPI
# and npm packages besides the Debian ones.
# Targets: scan time within 1.3x of the decompression floor (pigz -dc for
# gzip, the fastest decoder here; zstd -dc), application packages costing
# at most 1.10x of the scan without them,
# and peak RSS under 100 MiB while scanning the ~1 GiB image, from disk and
# from the registry. Prints a Markdown summary (also written to
# bench/out/image/summary.md) with the ratios and the command line.
#
# Usage, from the repository root:  bash bench/image/run.sh
# Knobs (environment):
#   IMAGE_MB=1024        uncompressed size of the realistic image (MiB)
#   TEXT_MB=256          uncompressed size of the text-heavy image (MiB; 0: none)
#   RUNS=3               timed runs of every command (the median is reported)
#   SEED=20261201        seed of the generated content and credentials
#   REGISTRY_PORT=18510  loopback port of docker-registry
#   SKIP_ZSTD=1          leave the zstd layouts out
#   SKIP_REGISTRY=1      leave the registry path out
#   SKIP_VULN=1          leave the run with a vulnerability database out
# Needs: cargo, python3, zcat, curl. Installs pigz, zstd, GNU time and hyperfine
# with apt-get when they are missing (without hyperfine, times with
# bench/timing.py). The registry path needs skopeo and /usr/bin/docker-registry
# (apt-get install skopeo docker-registry) and is skipped without them.
# Output: bench/out/image/ (layouts, images.json, reports, timings, summary.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

IMAGE_MB=${IMAGE_MB:-1024}
TEXT_MB=${TEXT_MB:-256}
RUNS=${RUNS:-3}
SEED=${SEED:-20261201}
REGISTRY_PORT=${REGISTRY_PORT:-18510}
SKIP_ZSTD=${SKIP_ZSTD:-0}
SKIP_REGISTRY=${SKIP_REGISTRY:-0}
SKIP_VULN=${SKIP_VULN:-0}

OUT=bench/out/image
RUNDIR=$OUT/runs
# PALISADE=path runs another build of palisade (a before/after comparison).
PALISADE=${PALISADE:-target/release/palisade}
REGISTRY_BIN=/usr/bin/docker-registry
HOST="127.0.0.1:$REGISTRY_PORT"
SCAN_FLAGS="--format json --no-cache --skip-vulnerabilities --output /dev/null"

BENCH_NAME=bench/image/run.sh
. bench/lib.sh

mkdir -p "$OUT"

# ---------------------------------------------------------------- tools
step "tools"
for t in cargo python3 zcat curl; do
    command -v "$t" >/dev/null || die "$t not found"
done
need_gnu_time
if [ "$SKIP_ZSTD" != 1 ] && ! command -v zstd >/dev/null; then
    note "zstd missing: installing it with apt-get"
    apt_install zstd || { note "could not install zstd: zstd layouts skipped"; SKIP_ZSTD=1; }
fi
if ! command -v hyperfine >/dev/null; then
    note "hyperfine missing: installing it with apt-get"
    apt_install hyperfine || note "could not install hyperfine; timing with bench/timing.py instead"
fi
if command -v hyperfine >/dev/null; then
    TIMER="hyperfine $(hyperfine --version | cut -d' ' -f2)"
else
    TIMER="bench/timing.py"
fi
if ! command -v pigz >/dev/null; then
    note "pigz missing: installing it with apt-get"
    apt_install pigz || note "could not install pigz: the gzip floor is zcat"
fi
PIGZ=$(command -v pigz || true)
GUNZIP=${PIGZ:+$PIGZ -dc}
GUNZIP=${GUNZIP:-zcat}
note "timer: $TIMER; zcat: $(zcat --version | head -n1)"
[ "$SKIP_ZSTD" = 1 ] || note "zstd: $(zstd --version)"
[ -z "$PIGZ" ] || note "pigz: $("$PIGZ" --version 2>&1 | head -n1)"
if [ "$SKIP_REGISTRY" != 1 ]; then
    if ! command -v skopeo >/dev/null || [ ! -x "$REGISTRY_BIN" ]; then
        note "skopeo or $REGISTRY_BIN missing: registry path skipped (apt-get install skopeo docker-registry)"
        SKIP_REGISTRY=1
    fi
fi

# ---------------------------------------------------------------- build
step "cargo build --release -p palisade"
cargo build --release -p palisade
[ -x "$PALISADE" ] || die "$PALISADE was not built"

# ---------------------------------------------------------------- images
ZSTD_FLAG=""
[ "$SKIP_ZSTD" = 1 ] || ZSTD_FLAG=--zstd
step "images: realistic ${IMAGE_MB} MiB, text ${TEXT_MB} MiB${ZSTD_FLAG:+, gzip and zstd}"
stamp="mb=$IMAGE_MB text=$TEXT_MB seed=$SEED $ZSTD_FLAG build=$(sha256sum bench/image/build.py | cut -c1-16)"
if [ -s "$OUT/images.json" ] && [ "$(cat "$OUT/images.stamp" 2>/dev/null)" = "$stamp" ]; then
    note "up to date ($stamp)"
else
    rm -f "$OUT/images.stamp"
    t0=$(date +%s.%N)
    python3 bench/image/build.py "$OUT" --mb "$IMAGE_MB" --text-mb "$TEXT_MB" --seed "$SEED" $ZSTD_FLAG
    note "built in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.0f}')") s"
    echo "$stamp" >"$OUT/images.stamp"
fi
IMAGES=$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["images"]))' "$OUT/images.json")
blobs_of() { # IMAGE: its layer blobs, base first
    python3 -c 'import json, sys; print(" ".join(l["blob"] for l in json.load(open(sys.argv[1]))["images"][sys.argv[2]]["layers"]))' \
        "$OUT/images.json" "$1"
}
describe() { # IMAGE: one line about it
    python3 - "$OUT/images.json" "$1" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))["images"][sys.argv[2]]
print(f"{len(i['layers'])} layers, {i['entries']} entries, {i['uncompressed_bytes'] / 2**20:.0f} MiB uncompressed, "
      f"{i['compressed_bytes'] / 2**20:.0f} MiB stored")
PY
}
compression_of() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["images"][sys.argv[2]]["compression"])' "$OUT/images.json" "$1"
}
# Every blob into the page cache, so that no run pays for the disk.
for im in $IMAGES; do cat $(blobs_of "$im") >/dev/null; done

# ---------------------------------------------------------------- helpers
rm -rf "$RUNDIR"
mkdir -p "$RUNDIR"
: >"$RUNDIR/index.tsv"
: >"$OUT/commands.txt"
# CPU ticks of the whole machine (busy, all CPUs).
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# time_cmd NAME IMAGE KIND COMMAND: RUNS timed runs into runs/t-NAME.json, and
# a line of runs/index.tsv: name, image, kind, the machine's busy ticks and
# the wall seconds of the whole timing (for the other processes' CPU share).
# Failures are ignored in timing: palisade exits 1 when it finds something;
# the sanity runs check for real errors.
time_cmd() {
    local name=$1 image=$2 kind=$3 cmd=$4 b0 b1 t0 t1
    note "$cmd"
    echo "$cmd" >>"$OUT/commands.txt"
    b0=$(cpu_busy)
    t0=$(date +%s.%N)
    if command -v hyperfine >/dev/null; then
        hyperfine --ignore-failure --style basic --warmup 0 --runs "$RUNS" \
            --export-json "$RUNDIR/t-$name.json" "$cmd" >&2
    else
        python3 bench/timing.py run --runs "$RUNS" --warmup 0 \
            --export-json "$RUNDIR/t-$name.json" -- "$cmd"
    fi
    t1=$(date +%s.%N)
    b1=$(cpu_busy)
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$image" "$kind" "$((b1 - b0))" \
        "$(python3 -c "print($t1 - $t0)")" >>"$RUNDIR/index.tsv"
}

# sanity NAME IMAGE REF [FLAGS...]: one palisade run under /usr/bin/time -v
# (peak RSS into runs/rss-NAME.txt), the JSON report into runs/NAME.json;
# stops unless palisade exits 0 or 1 (findings) with no errors, reports every
# planted credential of the image and saw every layer.
sanity() {
    local name=$1 image=$2 ref=$3 rc=0
    shift 3
    /usr/bin/time -v -o "$RUNDIR/rss-$name.txt" \
        "$PALISADE" image "$ref" --format json --no-cache --output "$RUNDIR/$name.json" "$@" \
        2>"$RUNDIR/$name.err" || rc=$?
    [ "$rc" -le 1 ] || { cat "$RUNDIR/$name.err" >&2; die "palisade image $ref exited $rc"; }
    python3 - "$RUNDIR/$name.json" "$OUT/images.json" "$image" "$RUNDIR/rss-$name.txt" <<'PY' >&2
import json, re, sys
report, desc, image, rss = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
s = report["summary"]
kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(rss).read()).group(1))
f = s["findings"]
family = image.rsplit("-", 1)[0]
planted = [p for p in desc["planted"] if p[0] == family]
paths = {(fd.get("path") or "") + " " + fd["message"] for fd in report["findings"] if fd["rule"].startswith("secrets/")}
missed = [p[2] for p in planted if not any(p[2] in x for x in paths)]
secrets = sum(1 for fd in report["findings"] if fd["rule"].startswith("secrets/"))
print(f"    peak RSS {kib / 1024:.1f} MiB; findings critical={f['critical']} high={f['high']} "
      f"medium={f['medium']} low={f['low']} ({secrets} secrets/*); errors={s['errors']}; "
      f"planted credentials reported {len(planted) - len(missed)}/{len(planted)}")
for n in s.get("notes", []):
    print(f"    note: {n}")
layers = len(desc["images"][image]["layers"])
if s["errors"] or missed or not any(f"{layers} layers" in n for n in s.get("notes", [])):
    sys.exit(f"palisade: errors={s['errors']}, missed {missed[:5]}, notes {s.get('notes')}")
PY
}

# ---------------------------------------------------------------- local layouts
for im in $IMAGES; do
    blobs=$(blobs_of "$im")
    comp=$(compression_of "$im")
    step "$im: $(describe "$im")"
    sanity "$im" "$im" "oci:$OUT/$im:t" --skip-vulnerabilities
    if [ "$comp" = gzip ]; then
        time_cmd "$im-floor" "$im" floor "zcat $blobs > /dev/null"
        [ -z "$PIGZ" ] || time_cmd "$im-pigz" "$im" pigz "$PIGZ -dc $blobs > /dev/null"
    else
        time_cmd "$im-floor" "$im" floor "zstd -q -dc $blobs > /dev/null"
    fi
    time_cmd "$im-palisade" "$im" palisade "$PALISADE image oci:$OUT/$im:t $SCAN_FLAGS"
    time_cmd "$im-noapps" "$im" palisade-noapps "$PALISADE image oci:$OUT/$im:t $SCAN_FLAGS --skip-applications"
done

# ---------------------------------------------------------------- application packages
# The inventory of the realistic image names the application packages that
# build.py put in: Go modules of the binaries, Python and npm packages.
if [[ " $IMAGES " == *" realistic-gzip "* ]]; then
    step "realistic-gzip: application packages in the inventory (CycloneDX)"
    rc=0
    "$PALISADE" image "oci:$OUT/realistic-gzip:t" --format cyclonedx --no-cache --skip-vulnerabilities \
        --output "$RUNDIR/realistic-gzip.cdx.json" 2>"$RUNDIR/realistic-gzip.cdx.err" || rc=$?
    [ "$rc" -le 1 ] || { cat "$RUNDIR/realistic-gzip.cdx.err" >&2; die "palisade image --format cyclonedx exited $rc"; }
    python3 - "$RUNDIR/realistic-gzip.cdx.json" "$RUNDIR/apps.json" <<'PY' >&2
import collections, json, sys
bom = json.load(open(sys.argv[1]))
kinds = collections.Counter(c.get("purl", "").split("/")[0] for c in bom.get("components", []))
json.dump(kinds, open(sys.argv[2], "w"))
print("    components by purl type: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
missing = [k for k in ("pkg:golang", "pkg:pypi", "pkg:npm", "pkg:deb") if not kinds.get(k)]
if missing:
    sys.exit(f"no {missing} components in the inventory")
PY
fi

# ---------------------------------------------------------------- vulnerabilities
if [ "$SKIP_VULN" != 1 ]; then
    step "realistic-gzip with a vulnerability database (one advisory: every package is looked up)"
    rm -rf "$OUT/osv" "$OUT/vuln.db"
    mkdir -p "$OUT/osv"
    cat >"$OUT/osv/BENCH-0001.json" <<'EOF'
{"id": "BENCH-0001", "modified": "2026-01-01T00:00:00Z", "published": "2026-01-01T00:00:00Z",
 "summary": "benchmark advisory",
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "bash"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0-1"}]}]}]}
EOF
    "$PALISADE" db import --db "$OUT/vuln.db" "$OUT/osv" >&2
    sanity realistic-gzip-vuln realistic-gzip "oci:$OUT/realistic-gzip:t" --db "$OUT/vuln.db"
    time_cmd realistic-gzip-vuln realistic-gzip palisade-vuln \
        "$PALISADE image oci:$OUT/realistic-gzip:t --format json --no-cache --db $OUT/vuln.db --output /dev/null"
fi

# ---------------------------------------------------------------- registry
REG_PID=""
stop_registry() {
    if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
        kill -TERM "$REG_PID" 2>/dev/null || true
        wait "$REG_PID" 2>/dev/null || true
    fi
    REG_PID=""
}
trap stop_registry EXIT
PUSH_SECONDS=""
if [ "$SKIP_REGISTRY" != 1 ]; then
    step "registry path: docker-registry on $HOST, realistic-gzip pushed with skopeo"
    if curl -s -o /dev/null --max-time 2 "http://$HOST/v2/"; then
        die "something already answers on port $REGISTRY_PORT (set REGISTRY_PORT=...)"
    fi
    rm -rf "$OUT/registry"
    start_registry "$HOST" "$OUT/registry"
    t0=$(date +%s.%N)
    skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$OUT/realistic-gzip:t" "docker://$HOST/bench/img:t" >&2
    PUSH_SECONDS=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
    note "pushed in $PUSH_SECONDS s (pid $REG_PID)"
    # The registry's copies of the blobs into the page cache.
    find "$OUT/registry/storage" -type f -name data -exec cat {} + >/dev/null
    urls=""
    for b in $(blobs_of realistic-gzip); do
        urls="$urls http://$HOST/v2/bench/img/blobs/sha256:$(basename "$b")"
    done
    sanity registry realistic-gzip "$HOST/bench/img:t" --skip-vulnerabilities --insecure-registry "$HOST"
    time_cmd registry-floor realistic-gzip registry-floor "for u in $urls; do curl -sf \$u | $GUNZIP; done > /dev/null"
    time_cmd registry-palisade realistic-gzip registry-palisade \
        "$PALISADE image $HOST/bench/img:t --insecure-registry $HOST $SCAN_FLAGS"
    stop_registry
fi

# ---------------------------------------------------------------- report
step "summary"
cmdline="bash bench/image/run.sh"
for knob in IMAGE_MB=1024 TEXT_MB=256 RUNS=3 SEED=20261201 SKIP_ZSTD=0 SKIP_REGISTRY=0 SKIP_VULN=0; do
    name=${knob%%=*}
    [ "${!name}" = "${knob#*=}" ] || cmdline="$name=${!name} $cmdline"
done
echo
env OUT="$OUT" RUNDIR="$RUNDIR" CLK_TCK="$(getconf CLK_TCK)" NPROC="$(nproc)" RUNS="$RUNS" \
    CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" KERNEL="$(uname -sr)" \
    RUSTC="$(rustc --version | cut -d' ' -f1-2)" TIMER="$TIMER" CMDLINE="$cmdline" PUSH_SECONDS="$PUSH_SECONDS" \
    REV="$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    ZCAT_VERSION="$(zcat --version | head -n1)" \
    ZSTD_VERSION="$(command -v zstd >/dev/null && zstd --version | grep -o "v[0-9.]*" | head -n1 | sed "s/^/zstd /" || true)" \
    REGISTRY_VERSION="$([ -x "$REGISTRY_BIN" ] && "$REGISTRY_BIN" --version 2>/dev/null | awk 'NR == 1 {print "docker-registry", $3}' || true)" \
    python3 bench/image/report.py | tee "$OUT/summary.md"
