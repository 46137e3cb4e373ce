#!/usr/bin/env python3
"""AdmissionReview bodies and a sequential timing client for bench/verify/run.sh.

The body is the hardened Pod CREATE of bench/serve_bodies.py (restricted-clean,
as the ReplicaSet controller sends it) with its one container's image
replaced and its own request uid, so the decision log tells the runs apart.

  body IMAGE UID                    print the AdmissionReview to stdout
  check URL CA IMAGE EXPECT [RULE]  one request; EXPECT is allowed or denied;
                                    a denial must name [RULE]; exit 1 otherwise
  run URL CA LABEL OUT IMAGES_FILE  one request per image of IMAGES_FILE, in
                                    order, over one TLS keep-alive connection;
                                    every one must be allowed; client-side
                                    latencies (ms) to OUT as JSON
  floor HOST:PORT OUT IMAGES_FILE   for each image (by tag) the registry round
                                    trips a cold check needs, made directly
                                    over one keep-alive connection: manifest
                                    by tag, the .sig manifest of its digest,
                                    the payload blob; latencies to OUT as JSON
"""

import hashlib
import http.client
import json
import os
import ssl
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import serve_bodies  # noqa: E402

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def body(image, uid):
    review = serve_bodies.hardened_pod()
    review["request"]["uid"] = uid
    review["request"]["object"]["spec"]["containers"][0]["image"] = image
    return json.dumps(review, separators=(",", ":")).encode()


def connect(url, ca):
    u = urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    return conn, u.path


def post(conn, path, data):
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    raw = r.read()
    if r.status != 200:
        sys.exit(f"HTTP {r.status}: {raw[:500]!r}")
    return json.loads(raw)["response"]


def decision(resp):
    msg = (resp.get("status") or {}).get("message", "")
    return ("allowed" if resp["allowed"] else "denied"), msg, resp.get("warnings") or []


def cmd_check(url, ca, image, expect, rule=None):
    conn, path = connect(url, ca)
    got, msg, warnings = decision(post(conn, path, body(image, "check-" + expect)))
    detail = msg or "; ".join(warnings) or "(no message)"
    if got != expect:
        sys.exit(f"{image}: {got}, expected {expect}: {detail}")
    if expect == "denied" and rule and f"[{rule}]" not in msg:
        sys.exit(f"{image}: denied, but not by [{rule}]: {msg}")
    if expect == "allowed" and any("image/signature" in w or "image/registry-error" in w for w in warnings):
        sys.exit(f"{image}: allowed, but with a signature warning: {warnings}")
    print(f"{got}: {detail[:160]}")


def read_images(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def cmd_run(url, ca, label, out, images_file):
    images = read_images(images_file)
    bodies = [body(img, f"{label}-{i}") for i, img in enumerate(images)]
    conn, path = connect(url, ca)
    conn.connect()  # the TLS handshake is not part of any measured request
    lat = []
    denied = []
    for img, data in zip(images, bodies):
        t0 = time.perf_counter_ns()
        resp = post(conn, path, data)
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        if not resp["allowed"]:
            denied.append((img, decision(resp)[1]))
    conn.close()
    with open(out, "w") as f:
        json.dump({"label": label, "latencies_ms": lat, "denied": len(denied)}, f)
    if denied:
        sys.exit(f"{label}: {len(denied)} of {len(images)} signed images denied, first: {denied[0]}")


def cmd_floor(host, out, images_file):
    conn = http.client.HTTPConnection(host, timeout=30)

    def get(path, accept=None):
        conn.request("GET", path, headers={"Accept": accept} if accept else {})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"registry floor: GET {path} -> HTTP {r.status}")
        return r, data

    lat = []
    for image in read_images(images_file):
        ref = image.split("/", 1)[1]
        repo, tag = ref.rsplit(":", 1)
        t0 = time.perf_counter_ns()
        _, manifest = get(f"/v2/{repo}/manifests/{tag}", ACCEPT)
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        _, sig = get(f"/v2/{repo}/manifests/{digest.replace(':', '-')}.sig", ACCEPT)
        layer = json.loads(sig)["layers"][0]["digest"]
        _, payload = get(f"/v2/{repo}/blobs/{layer}")
        if "sha256:" + hashlib.sha256(payload).hexdigest() != layer:
            sys.exit(f"registry floor: payload of {image} does not match its digest")
        lat.append((time.perf_counter_ns() - t0) / 1e6)
    with open(out, "w") as f:
        json.dump({"label": "floor", "latencies_ms": lat, "denied": 0}, f)


def main():
    a = sys.argv[1:]
    if a[:1] == ["body"] and len(a) == 3:
        sys.stdout.buffer.write(body(a[1], a[2]))
    elif a[:1] == ["check"] and len(a) in (5, 6):
        cmd_check(*a[1:])
    elif a[:1] == ["run"] and len(a) == 6:
        cmd_run(*a[1:])
    elif a[:1] == ["floor"] and len(a) == 4:
        cmd_floor(*a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
