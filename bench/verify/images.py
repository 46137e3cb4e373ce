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

With KEYLESS_DIR, also keyless-signed images, as `cosign sign` leaves
them with a Fulcio certificate: a test CA stands in for Fulcio and a test
log key for Rekor (both written to KEYLESS_DIR/trusted_root.json); each
image gets its own short-lived leaf certificate (SAN builder@bench.test,
Fulcio's issuer extension 1.3.6.1.4.1.57264.1.8 = https://issuer.bench.test)
and its signature layer carries the certificate, the CA chain and a Rekor
bundle (hashedrekord entry with its signed entry timestamp) in cosign's
annotations:
  kl-0                        the warm keyless image
  kl-1 .. kl-COUNT            cold, referenced by digest
  kl-herd                     for the concurrent requests
  kl-stranger                 signed by another identity (not trusted)

Prints one line per image: "NAME DIGEST" (NAME relative to bench/).

Usage: python3 bench/verify/images.py HOST:PORT COUNT KEY OTHER_KEY [KEYLESS_DIR]
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


def push_signature_manifest(reg, repo, digest, body, annotations):
    """The cosign signature manifest at sha256-<hex>.sig: one payload layer."""
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
        "layers": [{"mediaType": SIMPLE_SIGNING, **lay, "annotations": annotations}],
    })


def push_signature(reg, repo, digest, key):
    body = payload(f"{reg.host}/{repo}", digest)
    push_signature_manifest(reg, repo, digest, body, {SIGNATURE_ANNOTATION: sign(key, body)})


class Keyless:
    """The test Fulcio (a CA) and Rekor (a log key) of the keyless images."""

    ISSUER = "https://issuer.bench.test"
    SUBJECT = "builder@bench.test"

    def __init__(self, out_dir):
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.x509, self.hashes, self.ec, self.ser = x509, hashes, ec, serialization
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.dt = datetime
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench fulcio")])
        self.ca_name = name
        self.ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(self.now - datetime.timedelta(days=1))
                   .not_valid_after(self.now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        spki = self.log_key.public_key().public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
        self.log_id = hashlib.sha256(spki).digest()
        b64 = lambda b: base64.b64encode(b).decode()
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": "https://log.bench.test", "hashAlgorithm": "SHA2_256",
                       "publicKey": {"rawBytes": b64(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                     "validFor": {"start": "2024-01-01T00:00:00Z"}},
                       "logId": {"keyId": b64(self.log_id)}}],
            "certificateAuthorities": [{"subject": {"organization": "bench", "commonName": "bench fulcio"},
                                        "uri": "https://fulcio.bench.test",
                                        "certChain": {"certificates": [{"rawBytes": b64(self.ca.public_bytes(serialization.Encoding.DER))}]},
                                        "validFor": {"start": "2024-01-01T00:00:00Z"}}],
            "ctlogs": [], "timestampAuthorities": [],
        }
        with open(f"{out_dir}/trusted_root.json", "w") as f:
            json.dump(root, f)

    def pem(self, cert):
        return cert.public_bytes(self.ser.Encoding.PEM).decode()

    def leaf(self, subject):
        x509, ec, dt = self.x509, self.ec, self.dt
        key = ec.generate_private_key(ec.SECP256R1())
        issuer = self.ISSUER.encode()
        cert = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(self.ca_name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(self.now - dt.timedelta(minutes=5))
                .not_valid_after(self.now + dt.timedelta(minutes=10))
                .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(subject)]), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"),
                                                          bytes([0x0C, len(issuer)]) + issuer), critical=False)
                .sign(self.ca_key, self.hashes.SHA256()))
        return cert, key

    def annotations(self, data, subject):
        """cosign's keyless annotations for a signature over `data`."""
        cert, key = self.leaf(subject)
        sig = key.sign(data, self.ec.ECDSA(self.hashes.SHA256()))
        b64 = lambda b: base64.b64encode(b).decode()
        cert_pem = self.pem(cert)
        body = compact({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(data).hexdigest()}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(cert_pem.encode())}}}})
        integrated = int(self.now.timestamp())
        payload = {"body": b64(body), "integratedTime": integrated, "logID": self.log_id.hex(), "logIndex": 1}
        set_ = self.log_key.sign(compact(dict(sorted(payload.items()))), self.ec.ECDSA(self.hashes.SHA256()))
        return {SIGNATURE_ANNOTATION: b64(sig),
                "dev.sigstore.cosign/certificate": cert_pem,
                "dev.sigstore.cosign/chain": self.pem(self.ca),
                "dev.sigstore.cosign/bundle": json.dumps({"SignedEntryTimestamp": b64(set_), "Payload": payload})}


def push_keyless_signature(reg, repo, digest, world, subject):
    body = payload(f"{reg.host}/{repo}", digest)
    push_signature_manifest(reg, repo, digest, body, world.annotations(body, subject))


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: images.py HOST:PORT COUNT KEY OTHER_KEY [KEYLESS_DIR]")
    host, count, key, other = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    jobs = [(f"app-{n}", key) for n in range(0, 2 * count + 1)]
    jobs += [("unsigned", None), ("wrongkey", other)]
    if len(sys.argv) == 6:
        world = Keyless(sys.argv[5])
        jobs += [(f"kl-{n}", (world, Keyless.SUBJECT)) for n in range(0, count + 1)]
        jobs += [("kl-herd", (world, Keyless.SUBJECT)), ("kl-stranger", (world, "stranger@bench.test"))]
    local = threading.local()

    def push(job):
        name, signer = job
        if not hasattr(local, "reg"):
            local.reg = Registry(host)
        repo = f"bench/{name}"
        digest = push_image(local.reg, repo, f"palisade verify benchmark image {name}\n")
        if isinstance(signer, tuple):
            push_keyless_signature(local.reg, repo, digest, *signer)
        elif signer:
            push_signature(local.reg, repo, digest, signer)
        return name, digest

    with ThreadPoolExecutor(WORKERS) as pool:
        for name, digest in pool.map(push, jobs):
            print(name, digest)


if __name__ == "__main__":
    main()
