#!/usr/bin/env bash
# Admission latency of `palisade serve` when images need cosign signature
# verification against a real registry on loopback.
#
# Builds palisade (release), starts Debian's docker-registry (plain HTTP on
# loopback, filesystem storage) and fills it with 2*COUNT+3 images, each in
# its own repository with its own digest, almost all signed with a cosign key
# made here with openssl (bench/verify/images.py writes them through the
# registry's HTTP API exactly as cosign and skopeo leave them: image
# manifest, `sha256-<hex>.sig` signature manifest, simple signing payload
# with its base64 ECDSA P-256 signature in the layer annotation). Then starts
# `palisade serve` under /usr/bin/time (for its peak RSS) with a policy that
# requires a valid signature by that key for every image of the registry
# (images.verify, required: true, failurePolicy: Fail) and:
#   (0) sanity: a signed image is allowed (by tag and by digest); an unsigned
#       one and one signed by another key are denied by [image/signature];
#       the script stops if not;
#   (1) cold, by tag: COUNT requests, each naming an image never seen
#       before, so each one resolves the tag to a digest, fetches the .sig
#       manifest and the payload blob, and verifies the signature; sequential,
#       one TLS keep-alive connection (bench/verify/client.py);
#   (2) cold, by digest: the same with COUNT other images pinned by digest
#       (no tag resolution);
#   (3) the registry floor: the same three round trips for the images of (1)
#       made directly by the client, with nothing else;
#   (4) warm, same client: COUNT requests for one image already verified;
#   (K) keyless: COUNT more images signed keyless (a test CA standing in
#       for Fulcio, a test log key for Rekor, listed in a trusted_root.json
#       the policy names; see images.py): cold by tag (tag, .sig manifest,
#       payload, certificate chain + signed entry timestamp + signature
#       verified), the registry floor for the same images, 100 concurrent
#       requests for one unverified keyless digest (oha -n 100 -c 100: the
#       registry requests they cause show they share one verification),
#       and warm at RATE like (5);
#   (5) warm under load: after a discarded warm-up, oha at RATE requests/s
#       for RATE_DURATION with --latency-correction over CONNS keep-alive
#       connections, one image already verified, by tag and then by digest
#       -> p50/p99/p99.9 (also without the first STEADY_SKIP s), non-200;
# recording for each run the registry requests it caused (from the registry's
# access log), the CPU time of palisade, the registry, the client and of
# everything else on the machine, and palisade's RSS after it; finally stops
# the server with SIGTERM and reads its peak RSS. Prints a
# Markdown summary (also written to bench/out/verify/summary.md) comparing
# the figures with the published anchors and the targets (warm p99 < 1 ms,
# cold p99 < 50 ms).
#
# Usage, from the repository root:  bash bench/verify/run.sh
# Knobs (environment):
#   PORT=18444           palisade's loopback port
#   REGISTRY_PORT=18500  the registry's loopback port
#   COUNT=300            requests of each cold run (images: 2*COUNT+3)
#   RATE=1000            warm fixed rate (requests/s)
#   RATE_DURATION=15s    each warm fixed-rate run
#   CONNS=4              connections of the warm runs
#   WARMUP_DURATION=3s   fixed-rate warm-up before the warm runs, discarded
#   STEADY_SKIP=1        seconds at the start of warm runs left out of the
#                        "steady" columns (the TLS handshakes of CONNS connections)
#   REGISTRY_TIMEOUT=5   palisade's --registry-timeout (seconds)
# Needs: cargo, python3, openssl, curl, pgrep, skopeo, /usr/bin/docker-registry
# (apt-get install docker-registry skopeo). Installs GNU time with apt-get if
# /usr/bin/time is missing, and oha with `cargo install --locked` into
# bench/.venv/cargo when it is not on PATH (a few minutes the first time).
# Output: bench/out/verify/ (keys, certificates, policy, registry storage and
# log, image list, bodies, per-run JSON, server and decision logs, summary.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PORT=${PORT:-18444}
REGISTRY_PORT=${REGISTRY_PORT:-18500}
COUNT=${COUNT:-300}
RATE=${RATE:-1000}
RATE_DURATION=${RATE_DURATION:-15s}
CONNS=${CONNS:-4}
WARMUP_DURATION=${WARMUP_DURATION:-3s}
STEADY_SKIP=${STEADY_SKIP:-1}
REGISTRY_TIMEOUT=${REGISTRY_TIMEOUT:-5}

OUT=bench/out/verify
VENV=bench/.venv
CARGO_ROOT=$VENV/cargo
# PALISADE=path runs another build of palisade (a before/after comparison).
PALISADE=${PALISADE:-target/release/palisade}
REGISTRY_BIN=/usr/bin/docker-registry
URL="https://localhost:$PORT/validate"
HOST="127.0.0.1:$REGISTRY_PORT"
CLIENT=bench/verify/client.py

BENCH_NAME=bench/verify/run.sh
. bench/lib.sh

# ---------------------------------------------------------------- tools
step "tools"
for t in cargo python3 openssl curl pgrep skopeo; do
    command -v "$t" >/dev/null || die "$t not found"
done
[ -x "$REGISTRY_BIN" ] || die "$REGISTRY_BIN not found (apt-get install docker-registry)"
need_gnu_time
find_oha "$CARGO_ROOT"

# ---------------------------------------------------------------- build
step "cargo build --release -p palisade"
cargo build --release -p palisade
[ -x "$PALISADE" ] || die "$PALISADE was not built"

# ---------------------------------------------------------------- files
step "keys, certificates and policy in $OUT"
rm -rf "$OUT"
mkdir -p "$OUT/bodies" "$OUT/runs" "$OUT/lists" "$OUT/registry"
(
    cd "$OUT"
    # The cosign key pair (cosign's default: ECDSA P-256) and an untrusted one.
    openssl ecparam -name prime256v1 -genkey -noout -out cosign.key
    openssl ec -in cosign.key -pubout -out cosign.pub 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out other.key
    # The webhook's serving certificate.
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
cat >"$OUT/policy.yaml" <<EOF
apiVersion: palisade.dev/v1alpha1
kind: Policy
spec:
  podSecurity:
    level: restricted
  images:
    verify:
    - images: ["$HOST/bench/kl-*"]
      keyless:
      - issuer: https://issuer.bench.test
        subject: builder@bench.test
      trustedRoot: trusted_root.json
      required: true
    - images: ["$HOST/bench/**"]
      keys: [cosign.pub]
      required: true
    failurePolicy: Fail
EOF

# ---------------------------------------------------------------- registry
REG_PID=""
SPID=""
TIME_PID=""
STOPPED=0

stop_server() {
    [ "$STOPPED" = 1 ] && return 0
    STOPPED=1
    [ -n "$TIME_PID" ] || return 0
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
stop_registry() {
    if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
        kill -TERM "$REG_PID" 2>/dev/null || true
        wait "$REG_PID" 2>/dev/null || true
    fi
    REG_PID=""
}
cleanup() {
    stop_server
    stop_registry
}
trap cleanup EXIT

step "docker-registry on $HOST"
if curl -s -o /dev/null --max-time 2 "http://$HOST/v2/"; then
    die "something already answers on port $REGISTRY_PORT (set REGISTRY_PORT=...)"
fi
REGISTRY_ACCESS_LOG=1 start_registry "$HOST" "$OUT/registry"
note "ready (pid $REG_PID)"

# Every GET or HEAD of the registry's API, from its access log, and of them
# the bare `GET /v2/` (API version / authentication probes).
registry_requests() { grep -cE '"(GET|HEAD) /v2/' "$OUT/registry/registry.log" || true; }
registry_probes() { grep -cF '"GET /v2/ HTTP' "$OUT/registry/registry.log" || true; }
# CPU ticks: the whole machine (busy, all CPUs), palisade, the registry.
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure LABEL CMD...: runs CMD (its CPU time read by /usr/bin/time) and
# appends to runs/index.tsv: LABEL, registry requests and `GET /v2/` probes
# it caused, machine busy ticks, palisade ticks, registry ticks, the
# command's CPU seconds, the wall seconds and palisade's RSS (KiB) after.
# $REG_DELTA: the request count.
measure() {
    local label=$1 r0 p0 r1 p1 b0 b1 s0 s1 g0 g1 t0 t1 rc=0
    shift
    r0=$(registry_requests)
    p0=$(registry_probes)
    b0=$(cpu_busy)
    s0=$(ticks_of "$SPID")
    g0=$(ticks_of "$REG_PID")
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$OUT/runs/$label.time" "$@" || rc=$?
    t1=$(date +%s.%N)
    b1=$(cpu_busy)
    s1=$(ticks_of "$SPID")
    g1=$(ticks_of "$REG_PID")
    sleep 0.5 # the registry's access log lines of the last requests
    r1=$(registry_requests)
    p1=$(registry_probes)
    REG_DELTA=$((r1 - r0))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$REG_DELTA" "$((p1 - p0))" "$((b1 - b0))" \
        "$((s1 - s0))" "$((g1 - g0))" "$(awk '{print $1 + $2}' "$OUT/runs/$label.time" | tail -1)" \
        "$(python3 -c "print($t1 - $t0)")" "$(awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status")" \
        >>"$OUT/runs/index.tsv"
    return "$rc"
}

IMAGES=$((3 * COUNT + 6))
step "pushing $IMAGES images and their signatures, keyed and keyless (registry HTTP API)"
t0=$(date +%s.%N)
python3 bench/verify/images.py "$HOST" "$COUNT" "$OUT/cosign.key" "$OUT/other.key" "$OUT" >"$OUT/images.txt"
t1=$(date +%s.%N)
PUSH_SECONDS=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
[ "$(wc -l <"$OUT/images.txt")" = "$IMAGES" ] || die "images.py wrote $(wc -l <"$OUT/images.txt") images"
note "$IMAGES images in $PUSH_SECONDS s"
digest_of() { awk -v n="$1" '$1 == n {print $2}' "$OUT/images.txt"; }

# An independent client must see what images.py pushed: the manifest digest
# and a .sig manifest carrying a signed simple signing payload.
APP0_DIGEST=$(digest_of app-0)
seen=$(skopeo inspect --raw --tls-verify=false "docker://$HOST/bench/app-0:v1" | sha256sum | cut -d' ' -f1)
[ "sha256:$seen" = "$APP0_DIGEST" ] || die "skopeo sees bench/app-0:v1 as sha256:$seen, pushed $APP0_DIGEST"
skopeo inspect --raw --tls-verify=false "docker://$HOST/bench/app-0:${APP0_DIGEST/:/-}.sig" |
    python3 -c 'import json,sys; l=json.load(sys.stdin)["layers"][0]; assert l["mediaType"]=="application/vnd.dev.cosign.simplesigning.v1+json" and l["annotations"]["dev.cosignproject.cosign/signature"]' ||
    die "skopeo does not see the signature manifest of bench/app-0"
note "skopeo inspect agrees: bench/app-0:v1 is $APP0_DIGEST, with its .sig manifest"

for n in $(seq 1 "$COUNT"); do echo "$HOST/bench/app-$n:v1"; done >"$OUT/lists/cold-tag.txt"
for n in $(seq $((COUNT + 1)) $((2 * COUNT))); do echo "$HOST/bench/app-$n@$(digest_of "app-$n")"; done >"$OUT/lists/cold-digest.txt"
for n in $(seq 1 "$COUNT"); do echo "$HOST/bench/kl-$n:v1"; done >"$OUT/lists/cold-keyless.txt"
KL_WARM="$HOST/bench/kl-0@$(digest_of kl-0)"
python3 "$CLIENT" body "$KL_WARM" warm-keyless >"$OUT/bodies/warm-keyless.json"
python3 "$CLIENT" body "$HOST/bench/kl-herd@$(digest_of kl-herd)" herd-keyless >"$OUT/bodies/herd-keyless.json"
WARM_TAG="$HOST/bench/app-0:v1"
WARM_DIGEST="$HOST/bench/app-0@$APP0_DIGEST"
for _ in $(seq 1 "$COUNT"); do echo "$WARM_TAG"; done >"$OUT/lists/warm-py.txt"
python3 "$CLIENT" body "$WARM_TAG" warm-tag >"$OUT/bodies/warm-tag.json"
python3 "$CLIENT" body "$WARM_DIGEST" warm-digest >"$OUT/bodies/warm-digest.json"

# ---------------------------------------------------------------- server
step "palisade serve on 127.0.0.1:$PORT"
if curl -sk -o /dev/null --max-time 2 "https://127.0.0.1:$PORT/readyz"; then
    die "something already answers on port $PORT (set PORT=...)"
fi
SERVER_CMD=("$PALISADE" serve --listen "127.0.0.1:$PORT" --tls-cert "$OUT/tls.crt" --tls-key "$OUT/tls.key"
    --config "$OUT/policy.yaml" --decision-log "$OUT/decisions.jsonl"
    --insecure-registry "$HOST" --registry-timeout "$REGISTRY_TIMEOUT")
/usr/bin/time -f %M -o "$OUT/server-maxrss-kib.txt" "${SERVER_CMD[@]}" >"$OUT/server.log" 2>&1 &
TIME_PID=$!
wait_for_serve "$TIME_PID" "$PORT" "$OUT/server.log"
note "ready (pid $SPID)"
IDLE_RSS_KIB=$(awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status")

# ---------------------------------------------------------------- sanity
step "sanity: signed images allowed, unsigned and wrongly signed denied"
check() {
    local image=$1 expect=$2 out
    out=$(python3 "$CLIENT" check "$URL" "$OUT/ca.crt" "$image" "$expect" image/signature 2>&1) ||
        die "SETUP BROKEN, nothing measured: $out"
    note "${image#"$HOST"/}: ${out:0:150}"
}
check "$WARM_TAG" allowed
check "$WARM_DIGEST" allowed
check "$HOST/bench/unsigned:v1" denied
check "$HOST/bench/wrongkey:v1" denied
check "$KL_WARM" allowed
check "$HOST/bench/kl-stranger:v1" denied

# ---------------------------------------------------------------- measure
: >"$OUT/commands.txt"
: >"$OUT/runs/index.tsv"

# py_stats FILE REGISTRY_REQUESTS: one line for a sequential client run.
py_stats() {
    python3 - "$1" "$2" <<'EOF' >&2
import json, math, sys
l = sorted(json.load(open(sys.argv[1]))["latencies_ms"])
p = lambda q: l[max(0, math.ceil(q * len(l)) - 1)]
print(f"    {len(l)} requests  p50 {p(0.5):.3f} ms  p99 {p(0.99):.3f} ms  max {l[-1]:.3f} ms"
      f"  registry requests {sys.argv[2]}")
EOF
}

# py_run LABEL LIST: sequential client run, and the registry requests it caused.
py_run() {
    local label=$1 list=$2
    kill -0 "$SPID" 2>/dev/null || { cat "$OUT/server.log" >&2; die "palisade serve is no longer running"; }
    measure "$label" python3 "$CLIENT" run "$URL" "$OUT/ca.crt" "$label" "$OUT/runs/$label.json" "$list" ||
        die "$label failed"
    py_stats "$OUT/runs/$label.json" "$REG_DELTA"
}

step "cold, by tag: $COUNT requests, each a new image (resolve tag, .sig manifest, payload, verify)"
py_run cold-tag "$OUT/lists/cold-tag.txt"
step "cold, by digest: $COUNT requests, each a new image (.sig manifest, payload, verify)"
py_run cold-digest "$OUT/lists/cold-digest.txt"
step "registry floor: the same round trips for the cold-by-tag images, made directly"
measure floor python3 "$CLIENT" floor "$HOST" "$OUT/runs/floor.json" "$OUT/lists/cold-tag.txt" ||
    die "registry floor failed"
py_stats "$OUT/runs/floor.json" "$REG_DELTA"
step "cold keyless, by tag: $COUNT requests, each a new image (resolve tag, .sig manifest, payload, chain + SET + signature)"
py_run cold-keyless "$OUT/lists/cold-keyless.txt"
step "registry floor: the same round trips for the cold keyless images, made directly"
measure floor-keyless python3 "$CLIENT" floor "$HOST" "$OUT/runs/floor-keyless.json" "$OUT/lists/cold-keyless.txt" ||
    die "registry floor failed"
py_stats "$OUT/runs/floor-keyless.json" "$REG_DELTA"
step "100 concurrent requests for one unverified keyless digest (oha -n 100 -c 100)"
herd=("$OHA" --no-tui --output-format json --ipv4 -m POST -H "Content-Type: application/json"
    --cacert "$OUT/ca.crt" -n 100 -c 100 -D "$OUT/bodies/herd-keyless.json" "$URL")
measure herd-keyless sh -c '"$@" >"$0.json" 2>"$0.log"' "$OUT/runs/herd-keyless" "${herd[@]}" || die "oha failed for herd-keyless"
HERD_REQUESTS=$REG_DELTA
python3 - "$OUT/runs/herd-keyless.json" "$HERD_REQUESTS" <<'EOF' >&2
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution", {})
print(f"    100 concurrent requests: status {codes}, registry requests {sys.argv[2]}"
      f" (one verification by digest: the .sig manifest and its payload)")
EOF
step "warm, same client: $COUNT requests for one verified image"
py_run warm-py "$OUT/lists/warm-py.txt"

# run_oha RUN BODY DURATION: one fixed-rate oha run; JSON to runs/RUN.json and
# every request to runs/RUN.sqlite.
run_oha() {
    local run=$1 body=$2 duration=$3
    local cmd=("$OHA" --no-tui --output-format json --ipv4 -w -m POST -H "Content-Type: application/json"
        --cacert "$OUT/ca.crt" -c "$CONNS" -z "$duration" -q "$RATE" --latency-correction
        --db-url "$OUT/runs/$run.sqlite" -D "$OUT/bodies/$body.json" "$URL")
    printf '%q ' "${cmd[@]}" >>"$OUT/commands.txt"
    echo >>"$OUT/commands.txt"
    kill -0 "$SPID" 2>/dev/null || { cat "$OUT/server.log" >&2; die "palisade serve is no longer running"; }
    measure "$run" sh -c '"$@" >"$0.json" 2>"$0.log"' "$OUT/runs/$run" "${cmd[@]}" ||
        die "oha failed for $run (see $OUT/runs/$run.json)"
    python3 - "$OUT/runs/$run.json" "$REG_DELTA" <<'EOF' >&2
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
errs = d.get("errorDistribution", {})
bad = sum(v for k, v in codes.items() if k != "200") + sum(errs.values())
print(f"    {s['requestsPerSec']:7.0f} req/s  p50 {p['p50']*1e3:.3f} ms  p99 {p['p99']*1e3:.3f} ms"
      f"  p99.9 {p['p99.9']*1e3:.3f} ms  non-200 {bad}  registry requests {sys.argv[2]}"
      + (f"  errors {errs}" if errs else ""))
EOF
    sleep 1
}

step "warm-up: oha, $RATE requests/s for $WARMUP_DURATION (discarded)"
run_oha warmup warm-tag "$WARMUP_DURATION"
step "warm, by tag: oha, $RATE requests/s for $RATE_DURATION, $CONNS connections, latency correction"
run_oha warm-tag warm-tag "$RATE_DURATION"
step "warm, by digest: oha, $RATE requests/s for $RATE_DURATION, $CONNS connections, latency correction"
run_oha warm-digest warm-digest "$RATE_DURATION"
step "warm keyless, by digest: oha, $RATE requests/s for $RATE_DURATION, $CONNS connections, latency correction"
run_oha warm-keyless warm-keyless "$RATE_DURATION"

# ---------------------------------------------------------------- stop
step "stopping palisade (SIGTERM to pid $SPID) and the registry"
HWM_KIB=$(awk '/^VmHWM:/ {print $2}' "/proc/$SPID/status" 2>/dev/null || echo "")
stop_server
[ "${SERVER_RC:-0}" = 0 ] || note "palisade serve (under /usr/bin/time) exited with status $SERVER_RC"
stop_registry
MAXRSS_KIB=$(grep -E '^[0-9]+$' "$OUT/server-maxrss-kib.txt" | tail -1 || true)
[ -n "$MAXRSS_KIB" ] || { cat "$OUT/server-maxrss-kib.txt" >&2; die "no peak RSS from /usr/bin/time"; }

# ---------------------------------------------------------------- report
step "summary"
env OUT="$OUT" CLK_TCK="$(getconf CLK_TCK)" COUNT="$COUNT" RATE="$RATE" RATE_DURATION="$RATE_DURATION" CONNS="$CONNS" STEADY_SKIP="$STEADY_SKIP" \
    MAXRSS_KIB="$MAXRSS_KIB" HWM_KIB="$HWM_KIB" IDLE_RSS_KIB="$IDLE_RSS_KIB" PUSH_SECONDS="$PUSH_SECONDS" \
    NPROC="$(nproc)" CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    KERNEL="$(uname -sr)" OHA_VERSION="$("$OHA" --version)" REV="$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    REGISTRY_VERSION="$("$REGISTRY_BIN" --version 2>/dev/null | awk 'NR == 1 {print "docker-registry", $3}' || echo unknown)" \
    python3 bench/verify/report.py | tee "$OUT/summary.md"
