#!/usr/bin/env bash
# palisade etcd over 100,000 Secrets in a real etcd (Debian's etcd-server on
# loopback, data in /dev/shm), nine in ten sealed with aesgcm and one in ten
# plaintext, next to the floor in the same run: etcdctl reading the same
# keys and values (`etcdctl get --prefix /registry/secrets/`, to /dev/null).
# palisade reads in pages of 5,000 (its default) and decrypts every value with the
# EncryptionConfiguration's key.
#
#   bash bench/etcd.sh            # SECRETS=… RUNS=… override
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/etcd.sh
. bench/lib.sh

SECRETS=${SECRETS:-100000}
RUNS=${RUNS:-3}
OUT=bench/out/etcd
mkdir -p "$OUT"
need_gnu_time
[ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ] || apt_install etcd-server etcd-client || die "cannot install etcd"

step "building palisade and the filler (release)"
cargo build --release -q -p palisade -p palisade-bench
PALISADE=target/release/palisade

DATA=$(mktemp -d /dev/shm/palisade-etcd.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PEER=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
/usr/bin/etcd --name bench --data-dir "$DATA/data" --listen-client-urls "$URL" --advertise-client-urls "$URL" \
    --listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
    --initial-cluster "bench=http://127.0.0.1:$PEER" --quota-backend-bytes 8589934592 > "$OUT/etcd.log" 2>&1 &
ETCD_PID=$!
trap 'kill $ETCD_PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do ETCDCTL_API=3 etcdctl --endpoints "$URL" endpoint health >/dev/null 2>&1 && break; sleep 0.1; done

KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
cat > "$OUT/encryption.yaml" <<YAML
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - name: k1
        secret: $KEY
  - identity: {}
YAML
chmod 600 "$OUT/encryption.yaml"

step "writing $SECRETS Secrets"
target/release/fill_etcd "$URL" "$SECRETS" "$KEY"
note "$(ETCDCTL_API=3 etcdctl --endpoints "$URL" get --prefix /registry/secrets/ --keys-only | grep -c '^/registry/secrets/') keys"

step "timing $RUNS runs each, interleaved"
python3 - "$RUNS" "$URL" "$PALISADE" "$OUT" <<'PY'
import os, statistics, subprocess, sys
runs, url, palisade, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
env = dict(os.environ, ETCDCTL_API="3")
cmds = {
    "floor: etcdctl get --prefix /registry/secrets/ > /dev/null": ["etcdctl", "--endpoints", url, "--command-timeout=120s", "get", "--prefix", "/registry/secrets/"],
    "palisade etcd --encryption-config (decrypts every value)": [palisade, "etcd", "--endpoints", url, "--encryption-config", f"{out}/encryption.yaml", "-f", "json", "-o", f"{out}/etcd.json"],
}
res = {k: [] for k in cmds}
for _ in range(runs):
    for name, cmd in cmds.items():
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        if p.returncode not in (0, 1):
            sys.exit(f"{name} failed ({p.returncode}): {p.stderr[-2000:]}")
        wall, rss = p.stderr.strip().splitlines()[-1].split()
        res[name].append((float(wall), int(rss) / 1024))
floor = statistics.mean(w for w, _ in res[next(iter(cmds))])
print(f"| run | mean wall of {runs} | peak RSS | ratio |")
print("| --- | ---: | ---: | --- |")
for name, rs in res.items():
    w = statistics.mean(x for x, _ in rs)
    m = max(r for _, r in rs)
    ratio = "1 (floor)" if name.startswith("floor") else f"{w / floor:.2f}x floor"
    print(f"| {name} | {w:.2f} s | {m:.0f} MiB | {ratio} |")
PY
python3 -c "
import json; r = json.load(open('$OUT/etcd.json'))
print('findings:', len(r['findings']), '·', '; '.join(r['summary'].get('notes', [])))"
