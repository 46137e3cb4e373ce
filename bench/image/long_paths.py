#!/usr/bin/env python3
"""A hostile OCI image layout of many long paths, for the memory of the
final-filesystem view of `palisade image`.

Writes OUT_DIR/index.json, oci-layout and blobs/: one gzip layer of
--files regular files (empty) whose paths are about --path-bytes long,
tagged `t`.

    --shape nested   (default) nested directories of long names: 15
                     directory levels of ~240-byte names shared by every
                     file, then 500 directories, then the files: the
                     paths are ~4 KiB but their components repeat, as in
                     a deep source or dependency tree
    --shape unique   every file has its own ~4 KiB path (one directory
                     of ~240-byte names per level, each level unique per
                     file): nothing to share, the worst case for the
                     names the scan keeps

Each path is written with a GNU long-name record (as GNU tar and
Python's tarfile do for names over 100 bytes). Standard library only.

Usage: long_paths.py OUT_DIR [--files 200000] [--path-bytes 4000]
                     [--shape nested|unique]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

DIR_NAME = 240
FAN_OUT = 500


class Hashing(io.RawIOBase):
    """A writable stream that hashes what it forwards (the layer's diff_id)."""

    def __init__(self, inner):
        self.inner = inner
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.sha.update(b)
        return self.inner.write(b)


def component(level: int, n: int, width: int) -> str:
    stem = f"l{level:02d}-{n:06d}-"
    return stem + "d" * (width - len(stem))


def paths(files: int, path_bytes: int, shape: str):
    levels = max(1, path_bytes // (DIR_NAME + 1) - 1)
    shared = "/".join(component(i, 0, DIR_NAME) for i in range(levels))
    for n in range(files):
        if shape == "nested":
            fan = component(levels, n % FAN_OUT, DIR_NAME)
            yield f"{shared}/{fan}/f{n:07d}"
        else:
            own = "/".join(component(i, n, DIR_NAME) for i in range(levels))
            yield f"{own}/f{n:07d}"


def write_layer(tar_gz: str, files: int, path_bytes: int, shape: str) -> str:
    with open(tar_gz, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        hashing = Hashing(gz)
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            for path in paths(files, path_bytes, shape):
                info = tarfile.TarInfo(path)
                info.mode = 0o644
                tar.addfile(info)
        return hashing.sha.hexdigest()


def blob(blobs: str, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return digest, len(data)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--files", type=int, default=200_000)
    p.add_argument("--path-bytes", type=int, default=4000)
    p.add_argument("--shape", choices=["nested", "unique"], default="nested")
    a = p.parse_args()

    shutil.rmtree(a.out, ignore_errors=True)
    blobs = os.path.join(a.out, "blobs", "sha256")
    os.makedirs(blobs)
    tmp = os.path.join(a.out, "layer.tar.gz")
    diff_id = write_layer(tmp, a.files, a.path_bytes, a.shape)
    layer = sha256_file(tmp)
    size = os.path.getsize(tmp)
    os.rename(tmp, os.path.join(blobs, layer))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created_by": f"long paths: {a.files} files, {a.shape}"}],
    }
    cdig, csize = blob(blobs, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{cdig}", "size": csize},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer}", "size": size}],
    }
    mdig, msize = blob(blobs, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": f"sha256:{mdig}", "size": msize,
                       "annotations": {"org.opencontainers.image.ref.name": "t"}}],
    }
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(f"{a.out}: {a.files} files, {a.shape} paths of ~{a.path_bytes} bytes, "
          f"layer {size / 1e6:.1f} MB stored", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
