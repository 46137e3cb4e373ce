#!/usr/bin/env bash
# Whole-process benchmark of `palisade scan`.
#
# Times, on one generated corpus of Kubernetes manifests:
#   (a) the parse-only floor: every saphyr-parser event, nothing built
#       (bench/drivers/src/bin/parse_only.rs, the YAML crate palisade uses);
#   (b) palisade scan --threads 1;
#   (c) palisade scan with its default threads;
# and, on a slice of the first CHECKOV_DOCS documents, Checkov against
# palisade on the same bytes. Prints documents/s, MB/s, the ratios to the
# floor (target: within 2x) and to Checkov (target: at least 100x), and a
# Markdown summary (also written to bench/out/summary.md).
#
# Usage, from the repository root:  bash bench/run.sh
# Knobs (environment):
#   DOCS=100000        documents in the corpus
#   CHECKOV_DOCS=2000  documents in the slice given to Checkov (and palisade)
#   RUNS=5             timed runs per command on the corpus (WARMUP=1 before)
#   CHECKOV_RUNS=1     timed runs of Checkov (each takes a while)
#   SEED=20261101      corpus seed
#   SKIP_CHECKOV=1     leave Checkov out
# Needs: cargo, python3. Installs hyperfine with apt-get when it can (else
# times with bench/timing.py), and Checkov into bench/.venv with pip.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DOCS=${DOCS:-100000}
CHECKOV_DOCS=${CHECKOV_DOCS:-2000}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
CHECKOV_RUNS=${CHECKOV_RUNS:-1}
SEED=${SEED:-20261101}
SKIP_CHECKOV=${SKIP_CHECKOV:-0}

OUT=bench/out
VENV=bench/.venv
CORPUS=$OUT/corpus.yaml
SLICE=$OUT/corpus-slice.yaml
# PALISADE=path runs another build of palisade (a before/after comparison).
PALISADE=${PALISADE:-target/release/palisade}
FLOOR=target/release/parse_only

BENCH_NAME=bench/run.sh
. bench/lib.sh

mkdir -p "$OUT"

# ---------------------------------------------------------------- tools
step "tools"
command -v cargo >/dev/null || die "cargo not found"
command -v python3 >/dev/null || die "python3 not found"
if ! command -v hyperfine >/dev/null; then
    note "hyperfine missing: installing it with apt-get"
    if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }; then
        note "could not install hyperfine; timing with bench/timing.py instead"
    fi
fi
if command -v hyperfine >/dev/null; then
    TIMER="hyperfine $(hyperfine --version | cut -d' ' -f2)"
else
    TIMER="bench/timing.py"
fi
note "timer: $TIMER"

# ---------------------------------------------------------------- build
step "build (release)"
cargo build --release -p palisade
cargo build --release -p palisade-bench --bin parse_only
[ -x "$PALISADE" ] || die "$PALISADE was not built"
[ -x "$FLOOR" ] || die "$FLOOR was not built"

# ---------------------------------------------------------------- corpus
step "corpus: $DOCS documents, slice of $CHECKOV_DOCS"
stamp="seed=$SEED docs=$DOCS slice=$CHECKOV_DOCS gen=$(sha256sum bench/gen_corpus.py | cut -c1-16)"
if [ -s "$CORPUS" ] && [ -s "$SLICE" ] && [ "$(cat "$OUT/corpus.stamp" 2>/dev/null)" = "$stamp" ]; then
    note "up to date ($stamp)"
else
    rm -f "$OUT/corpus.stamp"
    python3 bench/gen_corpus.py "$DOCS" "$CORPUS" --seed "$SEED" --slice "$CHECKOV_DOCS:$SLICE"
    echo "$stamp" >"$OUT/corpus.stamp"
fi
BYTES=$(stat -c %s "$CORPUS")
SLICE_BYTES=$(stat -c %s "$SLICE")
SLICE_DOCS=$CHECKOV_DOCS

# ---------------------------------------------------------------- sanity
# One untimed run of each program, to check that they read every document
# and that palisade exits 0 or 1 (1 = findings, expected here), never 2.
step "sanity runs"
# Peak memory comes from these runs too, when GNU time is there.
rm -f "$OUT"/rss-*.txt
with_rss() { # NAME COMMAND...
    local name=$1
    shift
    if [ -x /usr/bin/time ]; then /usr/bin/time -f %M -o "$OUT/rss-$name.txt" "$@"; else "$@"; fi
}
floor_out=$(with_rss parse "$FLOOR" "$CORPUS") || die "parse_only failed on $CORPUS"
note "parse_only: $floor_out"
case "$floor_out" in *"documents=$DOCS "*) ;; *) die "parse_only did not see $DOCS documents" ;; esac

check_scan() { # FILE DOCS JSON_OUT RSS_NAME
    local rc=0
    with_rss "$4" "$PALISADE" scan --format json --output "$3" "$1" || rc=$?
    [ "$rc" -le 1 ] || die "palisade scan $1 exited $rc (2 = input errors): see $3"
    python3 - "$3" "$2" <<'PY' >&2
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
f = s["findings"]
print(f"    palisade: {s['documents']} documents, {s['objects']} objects, {s['workloads']} workloads, "
      f"findings critical={f['critical']} high={f['high']} medium={f['medium']} low={f['low']} info={f['info']}, "
      f"errors={s['errors']}, skipped={s['skipped']}")
if s["documents"] != int(sys.argv[2]) or s["errors"]:
    sys.exit(f"palisade read {s['documents']} documents with {s['errors']} errors; expected {sys.argv[2]} and 0")
PY
}
check_scan "$CORPUS" "$DOCS" "$OUT/scan.json" scan
check_scan "$SLICE" "$SLICE_DOCS" "$OUT/scan-slice.json" scan-slice

# ---------------------------------------------------------------- timing
# time_cmd NAME RUNS WARMUP COMMAND: mean/stddev/user/system into $OUT/t-NAME.json.
# Failures are ignored in timing: palisade exits 1 when it finds something,
# Checkov too; the sanity runs above already checked for real errors.
time_cmd() {
    local name=$1 runs=$2 warmup=$3 cmd=$4
    note "$cmd"
    if command -v hyperfine >/dev/null; then
        hyperfine --ignore-failure --style basic --warmup "$warmup" --runs "$runs" \
            --export-json "$OUT/t-$name.json" "$cmd" >&2
    else
        python3 bench/timing.py run --runs "$runs" --warmup "$warmup" \
            --export-json "$OUT/t-$name.json" -- "$cmd"
    fi
}
rm -f "$OUT"/t-*.json

step "timing: full corpus ($DOCS documents, $((BYTES / 1000000)) MB)"
time_cmd parse "$RUNS" "$WARMUP" "$FLOOR $CORPUS"
time_cmd scan-1 "$RUNS" "$WARMUP" "$PALISADE scan --format json --output /dev/null --threads 1 $CORPUS"
time_cmd scan-default "$RUNS" "$WARMUP" "$PALISADE scan --format json --output /dev/null $CORPUS"
# The price of the packs beyond Pod Security Standards: the same scan with a
# policy that turns every other pack off (target: all packs within 1.5x).
cat >"$OUT/pss-only.yaml" <<'YAML'
apiVersion: palisade.dev/v1alpha1
kind: Policy
spec:
  rules:
    "image/*": {enabled: false}
    "secrets/*": {enabled: false}
    "serviceaccount/*": {enabled: false}
    "hardening/*": {enabled: false}
YAML
time_cmd scan-1-pss "$RUNS" "$WARMUP" "$PALISADE scan --format json --output /dev/null --threads 1 --config $OUT/pss-only.yaml $CORPUS"
# The same pair with only the summary written (--quiet): the cost of the
# checks themselves, without building and writing every finding's JSON.
time_cmd scan-1-quiet "$RUNS" "$WARMUP" "$PALISADE scan --quiet --threads 1 $CORPUS"
time_cmd scan-1-pss-quiet "$RUNS" "$WARMUP" "$PALISADE scan --quiet --threads 1 --config $OUT/pss-only.yaml $CORPUS"

step "timing: slice ($SLICE_DOCS documents)"
# Short runs: let the timer pick the count (hyperfine: at least 10 runs / 3 s).
slice_runs=$(( RUNS > 10 ? RUNS : 10 ))
time_cmd slice-scan-1 "$slice_runs" 2 "$PALISADE scan --format json --output /dev/null --threads 1 $SLICE"
time_cmd slice-scan-default "$slice_runs" 2 "$PALISADE scan --format json --output /dev/null $SLICE"

# ---------------------------------------------------------------- Checkov
checkov_version=""
checkov_note=""
setup_checkov() {
    if [ -x "$VENV/bin/checkov" ]; then return 0; fi
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        note "python3 -m venv failed: installing python3-venv with apt-get"
        rm -rf "$VENV"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null || return 1
        python3 -m venv "$VENV" || return 1
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip || return 1
    note "pip install checkov (first run only; takes a few minutes)"
    "$VENV/bin/python" -m pip install --quiet checkov || return 1
    [ -x "$VENV/bin/checkov" ]
}
if [ "$SKIP_CHECKOV" = 1 ]; then
    checkov_note="skipped (SKIP_CHECKOV=1)"
else
    step "Checkov (bench/.venv)"
    if setup_checkov; then
        checkov_version=$("$VENV/bin/checkov" --version 2>/dev/null | tail -n1 || true)
        note "checkov $checkov_version"
        # Untimed sanity run: Checkov must have seen the slice's workloads.
        rc=0
        "$VENV/bin/checkov" --framework kubernetes -f "$SLICE" --quiet --compact -o json --skip-download \
            >"$OUT/checkov-slice.json" 2>"$OUT/checkov-slice.err" || rc=$?
        if [ "$rc" -gt 1 ]; then
            checkov_note="checkov exited $rc on the slice (see $OUT/checkov-slice.err); not timed"
            note "$checkov_note"
        else
            python3 - "$OUT/checkov-slice.json" <<'PY' >&2 || true
import json, sys
d = json.load(open(sys.argv[1]))
d = d[0] if isinstance(d, list) else d
s = d.get("summary", {})
print(f"    checkov: {s.get('resource_count')} resources, {s.get('passed')} passed, "
      f"{s.get('failed')} failed checks, parsing errors {s.get('parsing_errors')}")
PY
            time_cmd slice-checkov "$CHECKOV_RUNS" 0 \
                "$VENV/bin/checkov --framework kubernetes -f $SLICE --quiet --compact -o json --skip-download > /dev/null"
        fi
    else
        checkov_note="could not install Checkov into $VENV with pip; Checkov comparison skipped"
        note "$checkov_note"
    fi
fi

# ---------------------------------------------------------------- report
step "summary"
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
machine="$(nproc) CPUs (${cpu_model:-unknown CPU}), $(rustc --version | cut -d' ' -f1-2), timer $TIMER"
cmdline="DOCS=$DOCS CHECKOV_DOCS=$CHECKOV_DOCS RUNS=$RUNS"
[ "$SEED" = 20261101 ] || cmdline="$cmdline SEED=$SEED"
[ "$SKIP_CHECKOV" != 1 ] || cmdline="$cmdline SKIP_CHECKOV=1"
cmdline="$cmdline bash bench/run.sh"
echo
python3 bench/timing.py report --out-dir "$OUT" \
    --docs "$DOCS" --bytes "$BYTES" --slice-docs "$SLICE_DOCS" --slice-bytes "$SLICE_BYTES" \
    --seed "$SEED" --cpus "$(nproc)" --machine "$machine" --command "$cmdline" \
    --checkov-version "$checkov_version" --checkov-note "$checkov_note"
