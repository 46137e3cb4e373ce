#!/usr/bin/env python3
"""Signed images for bench/verify/run.sh, pushed to a plain-HTTP registry.

Writes each image as cosign and skopeo would leave it in the registry, but
through the registry's HTTP API directly (POST + PUT per blob, PUT per
manifest), which is far faster than one `skopeo copy` per image:

  image     OCI image manifest, its config and one gzip layer holding a file
            whose content is unique to the image (so every digest differs),
            tagged v1 in its own repository bench/NAME;
  signature the cosign signature manifest of that digest at the tag
            sha256-<hex>.sig in the same repository: an OCI manifest whose
            config mirrors cosign's and whose one layer is the simple signing
            payload (application/vnd.dev.cosign.simplesigning.v1+json)
            carrying its signature, base64 DER ECDSA P-256/SHA-256 made with
            `openssl dgst -sign`, in the dev.cosignproject.cosign/signature
            annotation.

Images written (NAME):
  app-0                       signed; the warm image
  app-1 .. app-COUNT          signed; cold, referenced by tag
  app-COUNT+1 .. app-2*COUNT  signed; cold, referenced by digest
  unsigned                    no signature
  wrongkey                    signed by another key (not trusted)

Prints one line per image: "NAME DIGEST" (NAME relative to bench/).

Usage: python3 bench/verify/images.py HOST:PORT COUNT KEY OTHER_KEY
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import subprocess
import sys
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
WORKERS = 8


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(content):
    """(tar, tar.gz) of one file holding `content`, reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        data = content.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, mtime=0)


def payload(docker_reference, digest):
    """The simple signing payload, compact JSON as cosign writes it."""
    return compact({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    })


def sign(key, data):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        sys.exit(f"openssl dgst -sign failed: {out.stderr.decode().strip()}")
    return base64.b64encode(out.stdout).decode()


class Registry:
    """One keep-alive connection to the registry (one per thread)."""

    def __init__(self, host):
        self.host = host
        self.conn = http.client.HTTPConnection(host, timeout=30)

    def call(self, method, path, body=b"", headers=None, expect=(200,)):
        h = {"Content-Length": str(len(body))}
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if r.status not in expect:
            sys.exit(f"registry: {method} {path} -> HTTP {r.status}: {data[:300]!r}")
        return r, data

    def blob(self, repo, data):
        digest = sha256(data)
        r, _ = self.call("POST", f"/v2/{repo}/blobs/uploads/", expect=(202,))
        loc = urlsplit(r.getheader("Location"))
        path = loc.path + ("?" + loc.query + "&" if loc.query else "?")
        self.call("PUT", path + "digest=" + quote(digest), body=data,
                  headers={"Content-Type": "application/octet-stream"}, expect=(201,))
        return {"digest": digest, "size": len(data)}

    def manifest(self, repo, tag, manifest):
        body = compact(manifest)
        r, _ = self.call("PUT", f"/v2/{repo}/manifests/{tag}", body=body,
                         headers={"Content-Type": OCI_MANIFEST}, expect=(201,))
        digest = sha256(body)
        served = r.getheader("Docker-Content-Digest")
        if served != digest:
            sys.exit(f"registry: {repo}:{tag} stored as {served}, expected {digest}")
        return digest


def push_image(reg, repo, content):
    tar, tar_gz = layer(content)
    lay = reg.blob(repo, tar_gz)
    config = reg.blob(repo, compact({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
    }))
    return reg.manifest(repo, "v1", {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": OCI_LAYER, **lay}],
    })


def push_signature(reg, repo, digest, key):
    body = payload(f"{reg.host}/{repo}", digest)
    signature = sign(key, body)
    lay = reg.blob(repo, body)
    config = reg.blob(repo, compact({
        "architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [lay["digest"]]},
    }))
    reg.manifest(repo, digest.replace(":", "-", 1) + ".sig", {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": SIMPLE_SIGNING, **lay,
                    "annotations": {SIGNATURE_ANNOTATION: signature}}],
    })


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: images.py HOST:PORT COUNT KEY OTHER_KEY")
    host, count, key, other = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    jobs = [(f"app-{n}", key) for n in range(0, 2 * count + 1)]
    jobs += [("unsigned", None), ("wrongkey", other)]
    local = threading.local()

    def push(job):
        name, signer = job
        if not hasattr(local, "reg"):
            local.reg = Registry(host)
        repo = f"bench/{name}"
        digest = push_image(local.reg, repo, f"palisade verify benchmark image {name}\n")
        if signer:
            push_signature(local.reg, repo, digest, signer)
        return name, digest

    with ThreadPoolExecutor(WORKERS) as pool:
        for name, digest in pool.map(push, jobs):
            print(name, digest)


if __name__ == "__main__":
    main()
