#!/usr/bin/env bash
# Load benchmark of `palisade serve`, the HTTPS admission webhook.
#
# Builds palisade (release), makes a throwaway CA and an ECDSA P-256 serving
# certificate for localhost/127.0.0.1, writes a policy (PSS restricted; the
# default policy also enables every image and secrets rule) and starts
# `palisade serve` on loopback under /usr/bin/time (for its peak RSS). Then,
# with oha over TLS and keep-alive, for each AdmissionReview body of
# bench/serve_bodies.py and for a mix of them (oha -Z: a body drawn at random
# for every request):
#   (1) saturation: CONNS connections, no rate limit, SAT_DURATION -> requests/s
#   (2) fixed rate: RATE requests/s for RATE_DURATION with --latency-correction
#       -> p50, p99, p99.9 and the count of non-200 responses (must be 0)
# and finally stops the server with SIGTERM and reads its peak RSS.
# Prints a Markdown summary (also written to bench/out/serve/summary.md) with
# the anchors and targets. The load generator runs on the same machine as the
# server and competes with it for the same cores; the summary says so.
#
# Usage, from the repository root:  bash bench/serve.sh
# Knobs (environment):
#   PORT=18443          loopback port
#   CONNS=32            connections of every oha run
#   SAT_DURATION=10s    each saturation run
#   RATE=2000           fixed rate (requests/s)
#   RATE_DURATION=15s   each fixed-rate run
#   WARMUP_DURATION=3s  saturation warm-up with the mix, discarded
#   STEADY_SKIP=1       seconds at the start of fixed-rate runs left out of the
#                       "steady" p99.9 column (TLS handshakes of CONNS connections)
# Needs: cargo, python3, openssl, curl, pgrep. Installs GNU time with apt-get
# if /usr/bin/time is missing, and oha with `cargo install --locked` into
# bench/.venv/cargo when it is not on PATH (a few minutes the first time).
# Output: bench/out/serve/ (certificates, policy, bodies, oha JSON and SQLite
# per run, server log, decision log, summary.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT=${PORT:-18443}
CONNS=${CONNS:-32}
SAT_DURATION=${SAT_DURATION:-10s}
RATE=${RATE:-2000}
RATE_DURATION=${RATE_DURATION:-15s}
WARMUP_DURATION=${WARMUP_DURATION:-3s}
STEADY_SKIP=${STEADY_SKIP:-1}

OUT=bench/out/serve
VENV=bench/.venv
CARGO_ROOT=$VENV/cargo
# PALISADE=path runs another build of palisade (a before/after comparison).
PALISADE=${PALISADE:-target/release/palisade}
URL="https://localhost:$PORT/validate"

BENCH_NAME=bench/serve.sh
. bench/lib.sh

# ---------------------------------------------------------------- tools
step "tools"
for t in cargo python3 openssl curl pgrep; do
    command -v "$t" >/dev/null || die "$t not found"
done
need_gnu_time
find_oha "$CARGO_ROOT"

# ---------------------------------------------------------------- build
step "cargo build --release -p palisade"
cargo build --release -p palisade
[ -x "$PALISADE" ] || die "$PALISADE was not built"

# ---------------------------------------------------------------- files
step "certificates, policy and bodies in $OUT"
rm -rf "$OUT"
mkdir -p "$OUT/bodies" "$OUT/runs"
(
    cd "$OUT"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=palisade bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.crt
    openssl ecparam -name prime256v1 -genkey -noout -out tls.key
    openssl req -new -key tls.key -subj "/CN=localhost" -out tls.csr
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >tls.ext
    openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 \
        -extfile tls.ext -out tls.crt 2>/dev/null
) >&2
cat >"$OUT/policy.yaml" <<'EOF'
apiVersion: palisade.dev/v1alpha1
kind: Policy
spec:
  podSecurity:
    level: restricted
EOF
python3 bench/serve_bodies.py "$OUT/bodies" >"$OUT/bodies/index.txt"
BODIES=()
while read -r name expected bytes; do
    BODIES+=("$name")
    note "$name: $bytes bytes, expected $expected"
done <"$OUT/bodies/index.txt"
for b in "${BODIES[@]}"; do
    cat "$OUT/bodies/$b.json"
    echo
done >"$OUT/bodies/mix.jsonl"

# ---------------------------------------------------------------- server
step "palisade serve on 127.0.0.1:$PORT"
if curl -sk -o /dev/null --max-time 2 "https://127.0.0.1:$PORT/readyz"; then
    die "something already answers on port $PORT (set PORT=...)"
fi
SERVER_CMD=("$PALISADE" serve --listen "127.0.0.1:$PORT" --tls-cert "$OUT/tls.crt" --tls-key "$OUT/tls.key"
    --config "$OUT/policy.yaml" --decision-log "$OUT/decisions.jsonl")
/usr/bin/time -f %M -o "$OUT/server-maxrss-kib.txt" "${SERVER_CMD[@]}" >"$OUT/server.log" 2>&1 &
TIME_PID=$!
SPID=""
STOPPED=0

stop_server() {
    [ "$STOPPED" = 1 ] && return 0
    STOPPED=1
    if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
        kill -TERM "$SPID" 2>/dev/null || true
        for _ in $(seq 1 300); do
            kill -0 "$TIME_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SPID" 2>/dev/null; then
            note "palisade did not exit within 30 s of SIGTERM: killing it"
            kill -KILL "$SPID" 2>/dev/null || true
        fi
    elif kill -0 "$TIME_PID" 2>/dev/null; then
        kill -TERM "$TIME_PID" 2>/dev/null || true
    fi
    SERVER_RC=0
    wait "$TIME_PID" 2>/dev/null || SERVER_RC=$?
}
trap stop_server EXIT

wait_for_serve "$TIME_PID" "$PORT" "$OUT/server.log"
note "ready (pid $SPID)"

# One request per body, checked against the expected decision.
step "sanity check: one request per body"
while read -r name expected bytes; do
    resp=$(curl -sS --cacert "$OUT/ca.crt" -H 'Content-Type: application/json' \
        --data-binary "@$OUT/bodies/$name.json" -w '\n%{http_code}' "$URL")
    code=${resp##*$'\n'}
    allowed=$(printf '%s' "${resp%$'\n'*}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["response"]["allowed"])')
    want=False
    [ "$expected" = allowed ] && want=True
    [ "$code" = 200 ] && [ "$allowed" = "$want" ] ||
        die "$name: HTTP $code, allowed=$allowed, expected $expected: ${resp%$'\n'*}"
    note "$name: HTTP $code, allowed=$allowed"
done <"$OUT/bodies/index.txt"

# ---------------------------------------------------------------- load
CLK_TCK=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
server_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }
IDLE_RSS_KIB=$(server_rss_kib)
: >"$OUT/commands.txt"
: >"$OUT/runs/index.tsv"

# run_oha RUN KIND BODY-ARGS... : one oha run; JSON to runs/RUN.json, oha's
# own CPU time to runs/RUN.time, server CPU ticks and the command to index.tsv.
run_oha() {
    local run=$1 kind=$2
    shift 2
    local cmd=("$OHA" --no-tui --output-format json --ipv4 -w -m POST -H "Content-Type: application/json"
        --cacert "$OUT/ca.crt" -c "$CONNS")
    case $kind in
    sat) cmd+=(-z "$SAT_DURATION") ;;
    warmup) cmd+=(-z "$WARMUP_DURATION") ;;
    rate) cmd+=(-z "$RATE_DURATION" -q "$RATE" --latency-correction --db-url "$OUT/runs/$run.sqlite") ;;
    esac
    cmd+=("$@" "$URL")
    printf '%q ' "${cmd[@]}" >>"$OUT/commands.txt"
    echo >>"$OUT/commands.txt"
    kill -0 "$SPID" 2>/dev/null || { cat "$OUT/server.log" >&2; die "palisade serve is no longer running"; }
    local t0 t1
    t0=$(server_ticks)
    /usr/bin/time -f '%e %U %S' -o "$OUT/runs/$run.time" "${cmd[@]}" >"$OUT/runs/$run.json" ||
        die "oha failed for $run (see $OUT/runs/$run.json)"
    t1=$(server_ticks)
    printf '%s\t%s\t%s\t%s\n' "$run" "$kind" "$((t1 - t0))" "$(server_rss_kib)" >>"$OUT/runs/index.tsv"
    python3 - "$OUT/runs/$run.json" <<'EOF' >&2
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
errs = d.get("errorDistribution", {})
bad = sum(v for k, v in codes.items() if k != "200") + sum(errs.values())
print(f"    {s['requestsPerSec']:9.0f} req/s  p50 {p['p50']*1e3:.3f} ms  p99 {p['p99']*1e3:.3f} ms"
      f"  p99.9 {p['p99.9']*1e3:.3f} ms  non-200 {bad}" + (f"  errors {errs}" if errs else ""))
EOF
    sleep 1
}

step "warm-up: mix, $CONNS connections, $WARMUP_DURATION (discarded)"
run_oha warmup warmup -Z "$OUT/bodies/mix.jsonl"

for b in "${BODIES[@]}" mix; do
    if [ "$b" = mix ]; then body=(-Z "$OUT/bodies/mix.jsonl"); else body=(-D "$OUT/bodies/$b.json"); fi
    step "$b: saturation, $CONNS connections, $SAT_DURATION"
    run_oha "$b-sat" sat "${body[@]}"
    step "$b: $RATE requests/s for $RATE_DURATION, latency correction"
    run_oha "$b-rate" rate "${body[@]}"
done

# ---------------------------------------------------------------- stop
step "stopping palisade (SIGTERM to pid $SPID)"
HWM_KIB=$(awk '/^VmHWM:/ {print $2}' "/proc/$SPID/status" 2>/dev/null || echo "")
stop_server
[ "${SERVER_RC:-0}" = 0 ] || note "palisade serve (under /usr/bin/time) exited with status $SERVER_RC"
MAXRSS_KIB=$(grep -E '^[0-9]+$' "$OUT/server-maxrss-kib.txt" | tail -1 || true)
[ -n "$MAXRSS_KIB" ] || { cat "$OUT/server-maxrss-kib.txt" >&2; die "no peak RSS from /usr/bin/time"; }

# ---------------------------------------------------------------- report
step "summary"
SERVER_CMD_Q=$(printf '%q ' /usr/bin/time -f %M -o "$OUT/server-maxrss-kib.txt" "${SERVER_CMD[@]}")
env OUT="$OUT" CLK_TCK="$CLK_TCK" MAXRSS_KIB="$MAXRSS_KIB" HWM_KIB="$HWM_KIB" IDLE_RSS_KIB="$IDLE_RSS_KIB" SERVER_RC="${SERVER_RC:-0}" \
    NPROC="$(nproc)" CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    KERNEL="$(uname -sr)" OHA_VERSION="$("$OHA" --version)" REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    SERVER_CMD_Q="$SERVER_CMD_Q" CONNS="$CONNS" RATE="$RATE" SAT_DURATION="$SAT_DURATION" \
    RATE_DURATION="$RATE_DURATION" STEADY_SKIP="$STEADY_SKIP" \
    python3 bench/serve_report.py | tee "$OUT/summary.md"
