#!/usr/bin/env python3
"""OCI image layouts for bench/image/run.sh.

Writes, under OUT_DIR, one OCI image layout per image and compression,
each tagged `t`:

    realistic-gzip/  realistic-zstd/   about --mb MiB (uncompressed) of files
                                       copied from this system, in five layers
                                       shaped like a distro image: base system
                                       (/etc, dpkg status, /usr/bin, shared
                                       libraries), documentation and locales
                                       (/usr/share), language runtimes, an
                                       application tree (with Go binaries,
                                       a site-packages and a node_modules
                                       tree: APPLICATIONS), and a small
                                       configuration layer that deletes a
                                       credential file of the layer before it
    text-gzip/       text-zstd/        about --text-mb MiB of generated source
                                       code, configuration and data files in
                                       two layers: the secrets scanner's worst
                                       case (every file is text it reads)

and OUT_DIR/images.json describing them (layers, sizes, entries, planted
credentials). Both images carry planted credentials (AWS key pair, GitHub,
Slack and Stripe tokens, PEM private keys, URLs with passwords, .env files),
built at run time from random characters.

Layers are tar files written with `tarfile`, compressed with gzip level 6
(Python's zlib, as docker does) and, with --zstd, with the `zstd` command at
level 3 (as BuildKit does); the compressions run in parallel, one process per
CPU. Standard library only (plus the zstd command for the zstd layouts).

Usage: build.py OUT_DIR [--mb 1024] [--text-mb 256] [--zstd] [--seed N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import stat
import string
import subprocess
import sys
import tarfile
import time

MiB = 1 << 20
CHUNK = 1 << 20
ALNUM = string.ascii_letters + string.digits
B64 = string.ascii_letters + string.digits + "+/"

GZIP_MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_MEDIA = "application/vnd.oci.image.layer.v1.tar+zstd"

# The realistic image: (share of --mb, history line, source roots). Each
# root is (directory, at most this share of the layer[, its path in the
# image]); a root that does not exist here is skipped. A layer takes files
# from its roots in sorted order until its share is reached, leaving out
# files that would overshoot it and files an earlier layer took.
REALISTIC = [
    (0.30, "/bin/sh -c #(nop) ADD file:4b1f2a in / ",
     [("/etc", 0.1), ("/var/lib/dpkg", 0.15), ("/usr/bin", 0.35), ("/usr/sbin", 0.05),
      ("/usr/lib/x86_64-linux-gnu", 1), ("/usr/lib/aarch64-linux-gnu", 1), ("/usr/lib64", 1),
      ("/usr/lib", 1)]),
    (0.18, "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends locales man-db",
     [("/usr/share", 1)]),
    (0.20, "/bin/sh -c apt-get install -y python3 git gcc nodejs",
     [("/usr/lib/python3.11", 0.3), ("/usr/lib/python3.12", 0.3), ("/usr/lib/python3", 0.25),
      ("/usr/lib/git-core", 0.1), ("/usr/lib/gcc", 0.3), ("/usr/lib/node_modules", 0.1),
      ("/usr/lib/llvm-14", 1), ("/usr/lib/jvm", 1), ("/usr/lib", 1)]),
    (0.32, "COPY . /opt/app # buildkit",
     [("/usr/lib/google-cloud-sdk/lib", 0.75, "opt/app/lib"),
      ("/usr/lib/google-cloud-sdk/platform", 1, "opt/app/platform"),
      ("/usr/lib/python3", 1), ("/usr/lib/jvm", 1), ("/usr/lib", 1), ("/usr/share", 1), ("/opt", 1)]),
    (0.0, "/bin/sh -c rm -f /root/.aws/credentials && chmod 0644 /etc/app/config.yaml", []),
]


# The application layer's own packages, copied whole before the layer's
# share is filled (so they count towards it): Go binaries with their build
# information, a site-packages tree and a node_modules tree, from this
# system where they exist (source, path in the image).
APPLICATIONS = [
    ("/usr/bin/skopeo", "opt/app/bin/skopeo"),
    ("/usr/bin/docker-registry", "opt/app/bin/docker-registry"),
    ("/usr/bin/umoci", "opt/app/bin/umoci"),
    ("/usr/lib/python3/dist-packages", "usr/local/lib/python3.11/site-packages"),
    ("/usr/lib/node_modules/npm/node_modules", "opt/app/node_modules"),
    ("/usr/share/nodejs", "opt/app/node_modules"),
]


# ------------------------------------------------------------------ credentials
class Creds:
    """Credentials of the kinds palisade detects, made from random characters."""

    def __init__(self, r: random.Random):
        self.r = r

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def aws_id(self) -> str:
        return "AK" + "IA" + self.s(string.ascii_uppercase + "234567", 16)

    def aws_secret(self) -> str:
        return self.s(ALNUM + "+/", 40)

    def github(self) -> str:
        return "gh" + "p_" + self.s(ALNUM, 36)

    def slack(self) -> str:
        return "xo" + "xb-" + self.s(string.digits, 12) + "-" + self.s(string.digits, 13) + "-" + self.s(ALNUM, 24)

    def stripe(self) -> str:
        return "sk" + "_live_" + self.s(ALNUM, 24)

    def password(self) -> str:
        return self.s(ALNUM, 20)

    def pem(self) -> str:
        body = self.s(B64, 64 * 25)
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN RSA " + "PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA " + "PRIVATE KEY-----\n"


# ------------------------------------------------------------------ tar helpers
class Layer:
    """One uncompressed layer tar being written."""

    def __init__(self, path: str):
        self.path = path
        self.tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)
        self.bytes = 0  # regular file content
        self.entries = 0
        self.dirs: set[str] = set()
        self.apps = 0  # of which application packages (APPLICATIONS)

    def parents(self, arc: str) -> None:
        parts = arc.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                ti = tarfile.TarInfo(d)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                ti.mtime = 1_700_000_000
                self.tar.addfile(ti)
                self.entries += 1

    def add_bytes(self, arc: str, data: bytes, mode: int = 0o644) -> None:
        self.parents(arc)
        ti = tarfile.TarInfo(arc)
        ti.size = len(data)
        ti.mode = mode
        ti.mtime = 1_700_000_000
        self.tar.addfile(ti, io.BytesIO(data))
        self.bytes += len(data)
        self.entries += 1

    def add_path(self, src: str, arc: str, st: os.stat_result) -> bool:
        try:
            if stat.S_ISDIR(st.st_mode):
                if arc in self.dirs:
                    return True
                self.parents(arc)
                self.dirs.add(arc)
            else:
                self.parents(arc)
            self.tar.add(src, arcname=arc, recursive=False)
        except (OSError, tarfile.TarError):
            return False
        if stat.S_ISREG(st.st_mode):
            self.bytes += st.st_size
        self.entries += 1
        return True

    def close(self) -> None:
        self.tar.close()


def copy_tree(layer: Layer, roots: list[tuple], budget: int, taken: set[str]) -> None:
    """Adds files under `roots` (sorted walks) until `budget` bytes of content."""
    for root, share, *dest in roots:
        if layer.bytes >= budget:
            return
        if os.path.isdir(root):
            copy_root(layer, root, dest[0] if dest else root.lstrip("/"),
                      min(budget, layer.bytes + int(share * budget)), taken)


def copy_root(layer: Layer, root: str, dest: str, budget: int, taken: set[str]) -> None:
    """Adds what is under `root` until the layer holds `budget` bytes of content."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        # Other filesystems (pseudo filesystems, bind mounts) are left out.
        dirnames[:] = [d for d in dirnames if not os.path.ismount(os.path.join(dirpath, d))]
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in [""] + sorted(filenames) + links:
            if layer.bytes >= budget:
                return
            src = os.path.join(dirpath, name) if name else dirpath
            arc = (dest + src[len(root):]).rstrip("/")
            if arc in taken:
                continue
            try:
                st = os.lstat(src)
            except OSError:
                continue
            mode = st.st_mode
            if stat.S_ISREG(mode) and layer.bytes + st.st_size > budget + max(MiB, budget // 50):
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                continue
            if stat.S_ISREG(mode) and not os.access(src, os.R_OK):
                continue
            if not stat.S_ISDIR(mode):
                taken.add(arc)
            layer.add_path(src, arc, st)


# ------------------------------------------------------------------ images
def realistic(out: str, mb: int, r: random.Random, creds: Creds, planted: list) -> list[dict]:
    budget = mb * MiB
    taken: set[str] = set()
    layers = []
    for i, (share, history, roots) in enumerate(REALISTIC):
        path = os.path.join(out, f"realistic-{i}.tar")
        layer = Layer(path)
        if i == 3:
            # The application's own files, credentials included.
            pw = creds.password()
            env = (f"APP_ENV=production\nPORT=8080\nDATABASE_URL=postgres://app:{pw}@db.internal:5432/app\n"
                   f"STRIPE_SECRET_KEY={creds.stripe()}\nLOG_LEVEL=info\n").encode()
            layer.add_bytes("opt/app/.env", env)
            planted.append(("realistic", i, "opt/app/.env", "dotenv + url password + stripe"))
            aws = (f"[default]\naws_access_key_id = {creds.aws_id()}\n"
                   f"aws_secret_access_key = {creds.aws_secret()}\nregion = eu-west-1\n").encode()
            layer.add_bytes("root/.aws/credentials", aws, 0o600)
            planted.append(("realistic", i, "root/.aws/credentials", "aws (deleted by layer 4)"))
            layer.add_bytes("opt/app/settings.py", (
                "import os\n\nDEBUG = False\nALLOWED_HOSTS = ['*']\n"
                f"GITHUB_TOKEN = \"{creds.github()}\"\n"
                "CACHE_TTL = 300\n").encode())
            planted.append(("realistic", i, "opt/app/settings.py", "github"))
            layer.add_bytes("opt/app/certs/server.key", creds.pem().encode(), 0o600)
            planted.append(("realistic", i, "opt/app/certs/server.key", "private key"))
            for src, arc in APPLICATIONS:
                if os.path.isdir(src):
                    copy_root(layer, src, arc, 1 << 62, taken)
                elif os.path.isfile(src):
                    layer.add_path(src, arc, os.stat(src))
                    taken.add(arc)
            layer.apps = layer.bytes
        copy_tree(layer, roots, int(share * budget), taken)
        if i == 4:
            layer.add_bytes("root/.aws/.wh.credentials", b"")
            layer.add_bytes("etc/app/config.yaml", (
                "server:\n  port: 8080\nnotifications:\n"
                f"  slack_token: {creds.slack()}\n  channel: '#alerts'\n").encode())
            planted.append(("realistic", i, "etc/app/config.yaml", "slack"))
            passwd = b"root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n"
            layer.add_bytes("etc/passwd", passwd)
        layer.close()
        layers.append({"tar": path, "history": history, "bytes": layer.bytes, "entries": layer.entries,
                       "app_bytes": layer.apps})
    return layers


# No credential-like words (token, key, secret, pass...): identifiers such as
# `cache_token = ...` would turn every file into a generic-secret finding.
WORDS = ("request response handler client server config value result error context buffer "
         "stream user account order item price total count index offset limit page cache "
         "session query record table column schema event message queue worker job task state "
         "status path name id data payload header body timeout retry backoff metric span "
         "trace logger factory builder manager service provider registry").split()


def ident(r: random.Random) -> str:
    n = r.randint(1, 3)
    return "_".join(r.choice(WORDS) for _ in range(n))


def line_pool(r: random.Random, n: int) -> list[str]:
    """Lines of source code, configuration and data, none of them a credential."""
    out = []
    hexd = "0123456789abcdef"
    for _ in range(n):
        k = r.random()
        a, b, c = ident(r), ident(r), ident(r)
        if k < 0.25:
            out.append(f"    {a} = {b}.{c}({ident(r)}, timeout={r.randint(1, 600)})")
        elif k < 0.40:
            out.append(f"def {a}(self, {b}, {c}=None):")
        elif k < 0.50:
            out.append(f"        # {' '.join(r.choice(WORDS) for _ in range(r.randint(4, 14)))}")
        elif k < 0.58:
            out.append(f"  {a}: \"{b}-{r.randint(0, 9999)}\"")
        elif k < 0.64:
            out.append(f"    \"{a}\": \"sha256:{''.join(r.choice(hexd) for _ in range(64))}\",")
        elif k < 0.70:
            out.append(f"  {a}_url: https://{b.replace('_', '-')}.example.com/v1/{c}?page={r.randint(1, 99)}")
        elif k < 0.76:
            out.append(f"func ({a[0]} *{a.title().replace('_', '')}) {b.title().replace('_', '')}(ctx context.Context) error {{")
        elif k < 0.80:
            out.append("".join(r.choice(B64) for _ in range(76)))
        elif k < 0.86:
            out.append(f"        if {a} is None or len({b}) > {r.randint(1, 4096)}:")
        elif k < 0.92:
            out.append(f"const {a} = require('{b.replace('_', '-')}');")
        elif k < 0.96:
            out.append(f"    {a}_id = \"{''.join(r.choice(hexd) for _ in range(8))}-{''.join(r.choice(hexd) for _ in range(4))}-4{''.join(r.choice(hexd) for _ in range(3))}-a{''.join(r.choice(hexd) for _ in range(3))}-{''.join(r.choice(hexd) for _ in range(12))}\"")
        else:
            out.append("")
    return out


def text_heavy(out: str, mb: int, r: random.Random, creds: Creds, planted: list) -> list[dict]:
    pool = line_pool(r, 40000)
    exts = [".py", ".py", ".js", ".go", ".yaml", ".json", ".ts", ".rb", ".java", ".conf"]
    layers = []
    per_layer = mb * MiB // 2
    for i, history in enumerate(["COPY vendor/ /srv/vendor/", "COPY src/ /srv/app/"]):
        path = os.path.join(out, f"text-{i}.tar")
        layer = Layer(path)
        top = "srv/vendor" if i == 0 else "srv/app"
        n = 0
        while layer.bytes < per_layer:
            d = f"{top}/{ident(r)}/{ident(r)}"
            for _ in range(r.randint(4, 20)):
                name = f"{d}/{ident(r)}_{n}{r.choice(exts)}"
                lines = r.choices(pool, k=int(r.lognormvariate(5.0, 1.0)) + 5)
                if n % 200 == 17:
                    kind = n // 200 % 4
                    if kind == 0:
                        lines.insert(len(lines) // 2, f"AWS_ACCESS_KEY_ID = \"{creds.aws_id()}\"\nAWS_SECRET_ACCESS_KEY = \"{creds.aws_secret()}\"")
                    elif kind == 1:
                        lines.insert(len(lines) // 2, f"    token = \"{creds.github()}\"")
                    elif kind == 2:
                        lines.insert(len(lines) // 2, f"  database_url: postgres://svc:{creds.password()}@pg.internal/db")
                    else:
                        lines.insert(len(lines) // 2, f"SLACK_TOKEN={creds.slack()}")
                    planted.append(("text", i, name, ["aws", "github", "url password", "slack"][kind]))
                layer.add_bytes(name, ("\n".join(lines) + "\n").encode())
                n += 1
        layer.close()
        layers.append({"tar": path, "history": history, "bytes": layer.bytes, "entries": layer.entries})
    return layers


# ------------------------------------------------------------------ compression
def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def compress(tar: str, kind: str, blobs: str) -> tuple[str, int]:
    """Compresses `tar` into blobs/ by digest; returns (digest hex, size)."""
    tmp = os.path.join(blobs, f".tmp-{os.getpid()}-{os.path.basename(tar)}")
    if kind == "gzip":
        with open(tar, "rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0) as gz:
                while chunk := src.read(CHUNK):
                    gz.write(chunk)
    else:
        subprocess.run(["zstd", "-3", "-q", "-f", "-T1", "-o", tmp, tar], check=True)
    digest = sha256_file(tmp)
    os.replace(tmp, os.path.join(blobs, digest))
    return digest, os.path.getsize(os.path.join(blobs, digest))


def write_blob(blobs: str, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return digest, len(data)


def write_layout(d: str, layers: list[dict], compressed: list[tuple[str, int]], media: str) -> None:
    blobs = os.path.join(d, "blobs", "sha256")
    config = {
        "created": "2026-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh", "-c", "exec /opt/app/run"],
            "WorkingDir": "/opt/app",
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{l['diff_id']}" for l in layers]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": l["history"]} for l in layers],
    }
    cdig, csize = write_blob(blobs, json.dumps(config, indent=2).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{cdig}", "size": csize},
        "layers": [{"mediaType": media, "digest": f"sha256:{dg}", "size": sz} for dg, sz in compressed],
    }
    mdig, msize = write_blob(blobs, json.dumps(manifest, indent=2).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": f"sha256:{mdig}", "size": msize,
                       "annotations": {"org.opencontainers.image.ref.name": "t"}}],
    }
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--mb", type=int, default=1024)
    p.add_argument("--text-mb", type=int, default=256)
    p.add_argument("--zstd", action="store_true")
    p.add_argument("--seed", type=int, default=20261201)
    a = p.parse_args()

    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, "tars")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    r = random.Random(a.seed)
    creds = Creds(r)
    planted: list = []
    t0 = time.time()
    images = {"realistic": realistic(tmp, a.mb, r, creds, planted)}
    if a.text_mb > 0:
        images["text"] = text_heavy(tmp, a.text_mb, r, creds, planted)
    for layers in images.values():
        for l in layers:
            l["diff_id"] = sha256_file(l["tar"])
            l["tar_bytes"] = os.path.getsize(l["tar"])
    print(f"    tars written in {time.time() - t0:.1f} s", file=sys.stderr)

    kinds = ["gzip"] + (["zstd"] if a.zstd else [])
    t0 = time.time()
    jobs = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for name, layers in images.items():
            for kind in kinds:
                d = os.path.join(a.out, f"{name}-{kind}")
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(os.path.join(d, "blobs", "sha256"))
                # Largest first, so that the pool stays busy to the end.
                for j, l in sorted(enumerate(layers), key=lambda x: -x[1]["tar_bytes"]):
                    jobs[(name, kind, j)] = pool.submit(compress, l["tar"], kind, os.path.join(d, "blobs", "sha256"))
        done = {k: f.result() for k, f in jobs.items()}
    print(f"    compressed ({', '.join(kinds)}) in {time.time() - t0:.1f} s", file=sys.stderr)

    desc: dict = {"images": {}, "planted": [list(p) for p in planted]}
    for name, layers in images.items():
        for kind in kinds:
            d = os.path.join(a.out, f"{name}-{kind}")
            compressed = [done[(name, kind, j)] for j in range(len(layers))]
            write_layout(d, layers, compressed, GZIP_MEDIA if kind == "gzip" else ZSTD_MEDIA)
            desc["images"][f"{name}-{kind}"] = {
                "layout": d,
                "compression": kind,
                "uncompressed_bytes": sum(l["tar_bytes"] for l in layers),
                "file_bytes": sum(l["bytes"] for l in layers),
                "entries": sum(l["entries"] for l in layers),
                "app_bytes": sum(l.get("app_bytes", 0) for l in layers),
                "compressed_bytes": sum(sz for _, sz in compressed),
                "layers": [{"blob": os.path.join(d, "blobs", "sha256", dg), "compressed_bytes": sz,
                            "uncompressed_bytes": l["tar_bytes"], "entries": l["entries"],
                            "history": l["history"]}
                           for (dg, sz), l in zip(compressed, layers)],
            }
    shutil.rmtree(tmp)
    with open(os.path.join(a.out, "images.json"), "w") as f:
        json.dump(desc, f, indent=2)
    for name, im in desc["images"].items():
        print(f"    {name}: {len(im['layers'])} layers, {im['entries']} entries, "
              f"{im['uncompressed_bytes'] / MiB:.0f} MiB uncompressed, "
              f"{im['compressed_bytes'] / MiB:.0f} MiB stored", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
