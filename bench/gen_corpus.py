#!/usr/bin/env python3
"""Generate a large multi-document YAML corpus of realistic Kubernetes objects.

Used by bench/run.sh to measure palisade against the parse-only floor and
against Checkov. The corpus mixes workload kinds (Deployment, StatefulSet,
DaemonSet, CronJob, Job, Pod, about 80% of documents) with Services,
ConfigMaps, ServiceAccounts and Ingresses, and mixes hardened settings
(restricted-compliant) with the usual mistakes: privileged containers,
hostPath volumes, host namespaces, added capabilities, missing
securityContext, root users, unconfined seccomp.

Output is deterministic: document i depends only on (seed, i), so a
corpus of N documents is exactly the first N documents of any larger corpus
with the same seed. That is what lets run.sh time Checkov on a slice and
compare it with palisade on the same bytes.

No third-party dependencies; the YAML is written by a small emitter below
that quotes every scalar YAML 1.1 or 1.2 would otherwise read as something
other than a string.

Usage:
    gen_corpus.py [COUNT] [OUTPUT] [--seed N] [--slice N:PATH ...]

COUNT defaults to 100000, OUTPUT to bench/out/corpus.yaml. Each --slice
writes the first N documents to PATH in the same pass.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys

# --------------------------------------------------------------------------
# A minimal YAML emitter with comments, literal blocks and flow sequences.
# --------------------------------------------------------------------------


class Comment:
    """A `# text` line inside a mapping, before the next key."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Literal(str):
    """A string written as a `|` block scalar."""


class Flow(list):
    """A list of scalars written in flow style: `["a", "b"]`."""


class Raw(str):
    """A scalar written exactly as given (already valid YAML)."""


# Words YAML 1.1 (PyYAML, Checkov) or 1.2 (saphyr) would read as bool/null.
_SPECIAL_WORDS = {
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
}
_PLAIN_RE = re.compile(r"[A-Za-z/][A-Za-z0-9_./@:\-]*")


def scalar(v, opts: dict | None = None) -> str:
    """Render a scalar; `opts` (a document's style) sometimes quotes plain-safe strings."""
    if isinstance(v, Raw):
        return str(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    plain_ok = (
        _PLAIN_RE.fullmatch(s) is not None
        and s.lower() not in _SPECIAL_WORDS
        and not s.endswith(":")
        and "://" not in s
    )
    style = 0
    if opts is not None and opts["quote_p"] and opts["rng"].random() < opts["quote_p"]:
        style = opts["quote_style"]
    if plain_ok and style == 0:
        return s
    if style == 2 and "'" not in s and "\\" not in s and s.isascii():
        return "'" + s + "'"
    return json.dumps(s)


def emit(value, indent: int, out: list[str], opts: dict) -> None:
    """Append lines for a mapping or sequence `value` at `indent`."""
    pad = " " * indent
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, Comment):
                out.append(f"{pad}# {v.text}")
                continue
            emit_entry(pad + scalar(k) + ":", v, indent, out, opts)
    elif isinstance(value, list):
        for item in value:
            emit_item(item, indent, out, opts)
    else:
        raise TypeError(type(value))


def emit_entry(head: str, v, indent: int, out: list[str], opts: dict) -> None:
    if isinstance(v, Literal):
        out.append(head + " |")
        inner = " " * (indent + 2)
        for line in v.splitlines():
            out.append(inner + line if line else "")
    elif isinstance(v, Flow):
        out.append(head + " [" + ", ".join(scalar(x, opts) for x in v) + "]")
    elif isinstance(v, dict):
        if not v:
            out.append(head + " {}")
        else:
            out.append(head)
            emit(v, indent + 2, out, opts)
    elif isinstance(v, list):
        if not v:
            out.append(head + " []")
        else:
            out.append(head)
            # kubectl writes sequences flush with their key; many humans indent.
            emit(v, indent + (2 if opts["indent_seq"] else 0), out, opts)
    else:
        out.append(head + " " + scalar(v, opts))


def emit_item(item, indent: int, out: list[str], opts: dict) -> None:
    pad = " " * indent
    if isinstance(item, dict) and item:
        sub: list[str] = []
        emit(item, indent + 2, sub, opts)
        # Put the first line of the mapping after the dash.
        first = sub[0]
        if first.lstrip().startswith("#"):
            out.append(pad + "-")
            out.extend(sub)
        else:
            out.append(pad + "- " + first[indent + 2:])
            out.extend(sub[1:])
    elif isinstance(item, (dict, list)) and not item:
        out.append(pad + "- " + ("{}" if isinstance(item, dict) else "[]"))
    elif isinstance(item, list):
        out.append(pad + "-")
        emit(item, indent + 2, out, opts)
    else:
        out.append(pad + "- " + scalar(item, opts))


# --------------------------------------------------------------------------
# Vocabulary.
# --------------------------------------------------------------------------

TEAMS = [
    "payments", "checkout", "search", "identity", "platform", "data", "ml",
    "billing", "growth", "ads", "media", "notifications", "catalog", "infra",
    "observability", "security", "edge", "risk", "ledger", "support",
]
ENVS = ["prod", "staging", "dev", "qa", "perf", "canary"]
NOUNS = [
    "api", "web", "worker", "gateway", "frontend", "backend", "indexer",
    "scheduler", "consumer", "producer", "cache", "proxy", "exporter",
    "collector", "reconciler", "controller", "ingester", "compactor",
    "resizer", "renderer", "mailer", "auth", "session", "graphql", "grpc",
    "router", "ranker", "crawler", "uploader", "thumbnailer", "sync",
]
ADJ = [
    "orders", "users", "events", "invoices", "carts", "profiles", "images",
    "metrics", "logs", "traces", "feeds", "tokens", "quotes", "ratings",
    "reviews", "shipments", "inventory", "pricing", "fraud", "reports",
]
REGISTRIES = [
    "", "docker.io/library/", "ghcr.io/acme/", "quay.io/acme/",
    "registry.k8s.io/", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
    "europe-docker.pkg.dev/acme-prod/containers/", "registry.internal.acme.io/",
]
BASE_IMAGES = [
    ("nginx", ["1.25.3", "1.27-alpine", "stable", "latest", "1.26.2-alpine-slim"]),
    ("redis", ["7.2.4", "7-alpine", "6.2.14"]),
    ("postgres", ["16.2", "15-alpine", "14.11"]),
    ("busybox", ["1.36", "latest", "1.36.1-musl"]),
    ("envoyproxy/envoy", ["v1.29.1", "v1.30-latest"]),
    ("prom/node-exporter", ["v1.7.0", "v1.8.1"]),
    ("grafana/promtail", ["2.9.4", "3.0.0"]),
    ("fluent/fluent-bit", ["2.2.2", "3.0.4"]),
    ("bitnami/kafka", ["3.6.1", "3.7"]),
    ("python", ["3.12-slim", "3.11-alpine", "3.12.2-bookworm"]),
    ("node", ["20-alpine", "18.19.1", "22-bookworm-slim"]),
    ("golang", ["1.22", "1.21-alpine"]),
    ("eclipse-temurin", ["21-jre", "17-jre-alpine"]),
    ("alpine", ["3.19", "3.20", "latest"]),
    ("debian", ["bookworm-slim", "12"]),
]
PORT_NAMES = ["http", "grpc", "metrics", "admin", "https", "health", "web"]
ENV_VALUES = {
    "LOG_LEVEL": ["info", "debug", "warn"],
    "RUST_LOG": ["info", "warn,hyper=info"],
    "JAVA_OPTS": ["-Xms512m -Xmx1g -XX:+UseG1GC", "-XX:MaxRAMPercentage=75.0"],
    "GOMAXPROCS": ["2", "4"],
    "NODE_ENV": ["production", "development"],
    "OTEL_EXPORTER_OTLP_ENDPOINT": ["http://otel-collector.observability:4317"],
    "FEATURE_FLAGS": ["new-checkout,fast-search", ""],
    "REGION": ["eu-west-1", "us-east-1", "ap-southeast-2"],
    "TZ": ["UTC", "Europe/Berlin"],
    "HTTP_TIMEOUT": ["30s", "5s", "120"],
    "MAX_CONNECTIONS": ["100", "1000"],
    "CACHE_TTL": ["300", "1h"],
    "WORKERS": ["4", "8"],
    "DB_HOST": ["postgres.data.svc.cluster.local", "10.12.0.15"],
    "DB_PORT": ["5432"],
    "KAFKA_BROKERS": ["kafka-0.kafka:9092,kafka-1.kafka:9092"],
    "S3_BUCKET": ["acme-prod-assets", "acme-staging-uploads"],
    "ENABLE_TRACING": ["true", "false", "yes"],
}
SECRET_ENV = ["DB_PASSWORD", "API_TOKEN", "STRIPE_KEY", "JWT_SECRET", "AWS_SECRET_ACCESS_KEY"]
DANGEROUS_CAPS = ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "NET_RAW", "SYS_MODULE", "DAC_READ_SEARCH", "BPF"]
BASELINE_CAPS = ["NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID", "KILL", "AUDIT_WRITE"]
HOST_PATHS = [
    "/var/run/docker.sock", "/var/log", "/", "/etc", "/proc", "/sys",
    "/var/lib/kubelet", "/run/containerd/containerd.sock", "/dev",
]
CM_SNIPPETS = [
    "server {\n  listen 8080;\n  location / {\n    proxy_pass http://127.0.0.1:9000;\n  }\n}\n",
    "log_level: info\nmetrics:\n  enabled: true\n  port: 9090\nretries: 3\n",
    "[server]\nport = 8080\nworkers = 4\n\n[database]\npool_size = 20\n",
    "#!/bin/sh\nset -e\necho starting\nexec /app/server --config /etc/app/config.yaml\n",
    "{\n  \"featureA\": true,\n  \"featureB\": false,\n  \"ratio\": 0.25\n}\n",
]
COMMENTS = [
    "managed by the platform team; do not edit by hand",
    "TODO: tighten securityContext before GA",
    "see runbook: https://wiki.acme.io/runbooks/{name}",
    "generated by helm chart {name}-{v}",
    "temporary: remove after migration",
    "security review 2024-Q3: approved",
    "resources tuned from load test",
    "keep in sync with the Service below",
]


def dns_name(r: random.Random) -> str:
    parts = [r.choice(ADJ), r.choice(NOUNS)]
    if r.random() < 0.4:
        parts.insert(0, r.choice(TEAMS))
    if r.random() < 0.3:
        parts.append(r.choice(["v2", "blue", "green", "primary", "replica", "internal"]))
    return "-".join(parts)


def image(r: random.Random, name: str) -> str:
    if r.random() < 0.45:
        reg = r.choice(REGISTRIES[1:])
        repo = reg + name
        tag = f"{r.randint(0, 4)}.{r.randint(0, 30)}.{r.randint(0, 20)}"
    else:
        base, tags = r.choice(BASE_IMAGES)
        reg = r.choice(REGISTRIES)
        if "/" in base and reg.endswith("library/"):
            reg = "docker.io/"
        repo = reg + base
        tag = r.choice(tags)
    if r.random() < 0.12:
        digest = "".join(r.choice("0123456789abcdef") for _ in range(64))
        return f"{repo}@sha256:{digest}"
    if r.random() < 0.05:
        return repo  # no tag at all
    return f"{repo}:{tag}"


def quantity_cpu(r: random.Random) -> str:
    return r.choice(["50m", "100m", "250m", "500m", "1", "2", "1500m"])


def quantity_mem(r: random.Random) -> str:
    return r.choice(["64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"])


# --------------------------------------------------------------------------
# Security profiles.
# --------------------------------------------------------------------------
#
# hardened: passes PSS restricted.
# default:  no securityContext at all (baseline passes, restricted fails).
# partial:  some hardening, typically one restricted control missing.
# insecure: one or more baseline violations.

PROFILES = [("hardened", 0.33), ("default", 0.30), ("partial", 0.20), ("insecure", 0.17)]


def pick_profile(r: random.Random) -> str:
    x = r.random()
    acc = 0.0
    for name, p in PROFILES:
        acc += p
        if x < acc:
            return name
    return PROFILES[-1][0]


def container_sc(r: random.Random, profile: str) -> dict | None:
    if profile == "default":
        return None if r.random() < 0.8 else {}
    if profile == "hardened":
        sc = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": Flow(["ALL"]) if r.random() < 0.5 else ["ALL"]},
        }
        if r.random() < 0.6:
            sc["readOnlyRootFilesystem"] = True
        if r.random() < 0.5:
            sc["runAsNonRoot"] = True
        if r.random() < 0.3:
            sc["runAsUser"] = r.choice([1000, 10001, 65532, 101])
        if r.random() < 0.3:
            sc["seccompProfile"] = {"type": "RuntimeDefault"}
        if r.random() < 0.15:
            sc["capabilities"]["add"] = ["NET_BIND_SERVICE"]
        return sc
    if profile == "partial":
        sc = {}
        if r.random() < 0.7:
            sc["allowPrivilegeEscalation"] = r.random() < 0.2
        if r.random() < 0.5:
            sc["capabilities"] = {"drop": ["ALL"]} if r.random() < 0.5 else {"drop": ["NET_RAW"]}
        if r.random() < 0.4:
            sc["readOnlyRootFilesystem"] = r.random() < 0.7
        if r.random() < 0.4:
            sc["runAsNonRoot"] = True
        if r.random() < 0.2:
            sc["runAsUser"] = r.choice([0, 1000, 1001])
        if r.random() < 0.15:
            sc["capabilities"] = {"add": [r.choice(BASELINE_CAPS)]}
        return sc
    # insecure
    sc = {}
    roll = r.random()
    if roll < 0.35:
        sc["privileged"] = True
    if r.random() < 0.35:
        sc["capabilities"] = {"add": r.sample(DANGEROUS_CAPS, r.randint(1, 3))}
    if r.random() < 0.4:
        sc["runAsUser"] = 0
    if r.random() < 0.4:
        sc["allowPrivilegeEscalation"] = True
    if r.random() < 0.1:
        sc["procMount"] = "Unmasked"
    if r.random() < 0.1:
        sc["seccompProfile"] = {"type": "Unconfined"}
    if r.random() < 0.08:
        sc["seLinuxOptions"] = {"type": r.choice(["spc_t", "unconfined_t", "container_t"])}
    if r.random() < 0.05:
        sc["appArmorProfile"] = {"type": "Unconfined"}
    if r.random() < 0.05:
        sc["windowsOptions"] = {"hostProcess": True}
    return sc


def pod_sc(r: random.Random, profile: str) -> dict | None:
    if profile == "hardened":
        sc = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        if r.random() < 0.6:
            uid = r.choice([1000, 10001, 65532, 2000])
            sc["runAsUser"] = uid
            sc["runAsGroup"] = uid
        if r.random() < 0.5:
            sc["fsGroup"] = r.choice([1000, 2000, 65532])
        if r.random() < 0.1:
            sc["seccompProfile"] = {"type": "Localhost", "localhostProfile": "profiles/audit.json"}
        return sc
    if profile == "default":
        return None
    if profile == "partial":
        if r.random() < 0.5:
            return None
        sc = {}
        if r.random() < 0.6:
            sc["runAsNonRoot"] = True
        if r.random() < 0.4:
            sc["fsGroup"] = 2000
        if r.random() < 0.3:
            sc["seccompProfile"] = {"type": "RuntimeDefault"}
        return sc
    sc = {}
    if r.random() < 0.3:
        sc["runAsUser"] = 0
    if r.random() < 0.2:
        sc["sysctls"] = [{"name": r.choice(["net.core.somaxconn", "kernel.shm_rmid_forced", "net.ipv4.ip_forward", "kernel.msgmax"]), "value": "1"}]
    if r.random() < 0.15:
        sc["seccompProfile"] = {"type": "Unconfined"}
    return sc or None


def probe(r: random.Random, port) -> dict:
    kind = r.random()
    if kind < 0.6:
        p = {"httpGet": {"path": r.choice(["/healthz", "/readyz", "/health", "/ping", "/-/ready"]), "port": port}}
    elif kind < 0.85:
        p = {"tcpSocket": {"port": port}}
    else:
        p = {"exec": {"command": ["/bin/sh", "-c", r.choice(["pg_isready -U postgres", "redis-cli ping", "test -f /tmp/ready"])]}}
    if r.random() < 0.6:
        p["initialDelaySeconds"] = r.choice([0, 5, 10, 15, 30])
        p["periodSeconds"] = r.choice([5, 10, 20])
    if r.random() < 0.3:
        p["failureThreshold"] = r.choice([3, 5, 6])
    return p


def container(r: random.Random, name: str, profile: str, main: bool, volumes: list[dict]) -> dict:
    c: dict = {"name": name, "image": image(r, name)}
    if r.random() < 0.5:
        c["imagePullPolicy"] = r.choice(["IfNotPresent", "Always", "IfNotPresent"])
    if r.random() < 0.25:
        c["command"] = [r.choice(["/app/server", "/usr/local/bin/entrypoint", "python", "node", "java"])]
    if r.random() < 0.35:
        c["args"] = r.sample(
            ["--port=8080", "--log-level=info", "--metrics", "-v=2", "--config=/etc/app/config.yaml",
             "app.py", "server.js", "-jar", "/app/app.jar", "--enable-profiling"],
            r.randint(1, 3),
        )
    ports = []
    if main and r.random() < 0.85:
        for i in range(r.randint(1, 3)):
            port = {"name": PORT_NAMES[i % len(PORT_NAMES)], "containerPort": r.choice([80, 443, 3000, 5432, 6379, 8080, 8443, 9090, 9100, 50051]) + i}
            if r.random() < 0.5:
                port["protocol"] = "TCP"
            if profile == "insecure" and r.random() < 0.3:
                port["hostPort"] = port["containerPort"]
            ports.append(port)
        c["ports"] = ports
    env = []
    for en in r.sample(list(ENV_VALUES), r.randint(0, 4)):
        env.append({"name": en, "value": r.choice(ENV_VALUES[en])})
    if r.random() < 0.35:
        sec = r.choice(SECRET_ENV)
        env.append({"name": sec, "valueFrom": {"secretKeyRef": {"name": name + "-secrets", "key": sec.lower()}}})
    if r.random() < 0.2:
        env.append({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    if env:
        c["env"] = env
    if r.random() < 0.15:
        c["envFrom"] = [{"configMapRef": {"name": name + "-config"}}]
    if r.random() < 0.75:
        res = {"requests": {"cpu": quantity_cpu(r), "memory": quantity_mem(r)}}
        if r.random() < 0.7:
            res["limits"] = {"memory": quantity_mem(r)}
            if r.random() < 0.5:
                res["limits"]["cpu"] = quantity_cpu(r)
        c["resources"] = res
    if main and ports and r.random() < 0.7:
        c["livenessProbe"] = probe(r, ports[0]["containerPort"] if r.random() < 0.5 else ports[0]["name"])
        if r.random() < 0.8:
            c["readinessProbe"] = probe(r, ports[0]["containerPort"])
    mounts = []
    for v in volumes:
        if r.random() < 0.7:
            m = {"name": v["name"], "mountPath": v["_mount"]}
            if r.random() < 0.3:
                m["readOnly"] = True
            mounts.append(m)
    if mounts:
        c["volumeMounts"] = mounts
    sc = container_sc(r, profile)
    if sc is not None:
        c["securityContext"] = sc
    return c


def volumes_for(r: random.Random, name: str, profile: str) -> list[dict]:
    vols = []
    if r.random() < 0.4:
        vols.append({"name": "config", "configMap": {"name": name + "-config"}, "_mount": "/etc/app"})
    if r.random() < 0.25:
        vols.append({"name": "tls", "secret": {"secretName": name + "-tls", "defaultMode": 0o440}, "_mount": "/etc/tls"})
    if r.random() < 0.35:
        ed = {}
        if r.random() < 0.3:
            ed["sizeLimit"] = "1Gi"
        if r.random() < 0.2:
            ed["medium"] = "Memory"
        vols.append({"name": "tmp", "emptyDir": ed, "_mount": "/tmp"})
    if r.random() < 0.08:
        vols.append({"name": "data", "persistentVolumeClaim": {"claimName": name + "-data"}, "_mount": "/var/lib/data"})
    if r.random() < 0.05:
        vols.append({"name": "podinfo", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}, "_mount": "/etc/podinfo"})
    if profile == "insecure" and r.random() < 0.5:
        hp = r.choice(HOST_PATHS)
        v = {"name": "host-" + (hp.strip("/").replace("/", "-").replace(".", "-") or "root"), "hostPath": {"path": hp}, "_mount": "/host" + hp if hp != "/" else "/host"}
        if r.random() < 0.5:
            v["hostPath"]["type"] = r.choice(["Directory", "Socket", "DirectoryOrCreate"])
        vols.append(v)
    if profile == "partial" and r.random() < 0.03:
        vols.append({"name": "nfs", "nfs": {"server": "nfs.internal", "path": "/exports"}, "_mount": "/mnt/nfs"})
    return vols


def labels_for(r: random.Random, name: str, team: str, env: str, version: str) -> dict:
    labels = {"app": name} if r.random() < 0.5 else {"app.kubernetes.io/name": name}
    if r.random() < 0.7:
        labels["app.kubernetes.io/part-of"] = team
    if r.random() < 0.6:
        labels["app.kubernetes.io/version"] = version
    if r.random() < 0.5:
        labels["app.kubernetes.io/managed-by"] = r.choice(["Helm", "kustomize", "argocd"])
    if r.random() < 0.5:
        labels["env"] = env
    if r.random() < 0.3:
        labels["team"] = team
    return labels


def annotations_for(r: random.Random, name: str, profile: str, kind: str) -> dict:
    ann = {}
    if r.random() < 0.4:
        ann["prometheus.io/scrape"] = "true"
        ann["prometheus.io/port"] = str(r.choice([8080, 9090, 9100]))
    if r.random() < 0.25:
        ann["deployment.kubernetes.io/revision"] = str(r.randint(1, 90))
    if r.random() < 0.08:
        ann["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}})
    if r.random() < 0.15:
        ann["owner"] = f"{r.choice(TEAMS)}@acme.io"
    if profile == "insecure" and r.random() < 0.1:
        ann["container.apparmor.security.beta.kubernetes.io/" + name] = "unconfined"
    if profile == "hardened" and r.random() < 0.1:
        ann["container.apparmor.security.beta.kubernetes.io/" + name] = "runtime/default"
    return ann


def pod_spec(r: random.Random, name: str, profile: str, restart: str | None) -> dict:
    vols = volumes_for(r, name, profile)
    spec: dict = {}
    if r.random() < 0.35:
        spec["serviceAccountName"] = name
    if r.random() < 0.15:
        spec["automountServiceAccountToken"] = False
    if restart:
        spec["restartPolicy"] = restart
    if r.random() < 0.2:
        spec["terminationGracePeriodSeconds"] = r.choice([10, 30, 60, 120])
    if r.random() < 0.2:
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"} if r.random() < 0.6 else {"node-pool": r.choice(["general", "highmem", "gpu"])}
    if r.random() < 0.1:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": r.choice(["gpu", "infra"]), "effect": "NoSchedule"}]
    if r.random() < 0.1:
        spec["imagePullSecrets"] = [{"name": "regcred"}]
    if r.random() < 0.08:
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": name}}}}]}}
    if profile == "insecure":
        if r.random() < 0.3:
            spec["hostNetwork"] = True
        if r.random() < 0.2:
            spec["hostPID"] = True
        if r.random() < 0.1:
            spec["hostIPC"] = True
        if r.random() < 0.05:
            spec["hostUsers"] = True
    psc = pod_sc(r, profile)
    if psc is not None:
        spec["securityContext"] = psc
    if r.random() < 0.15:
        init_profile = profile if r.random() < 0.8 else ("insecure" if profile != "hardened" else "hardened")
        ic = container(r, r.choice(["init-db", "wait-for-deps", "migrate", "fix-perms", "init-config"]), init_profile, False, vols)
        ic["command"] = ["sh", "-c", r.choice(["until nc -z db 5432; do sleep 1; done", "chown -R 1000:1000 /data", "/app/migrate up"])]
        if init_profile == "insecure" and r.random() < 0.5:
            ic.setdefault("securityContext", {})["runAsUser"] = 0
        spec["initContainers"] = [ic]
    containers = [container(r, name, profile, True, vols)]
    for _ in range(r.choices([0, 1, 2], [0.75, 0.21, 0.04])[0]):
        side = r.choice(["istio-proxy", "log-shipper", "metrics-exporter", "cloudsql-proxy", "vault-agent", "oauth2-proxy"])
        # Sidecars injected by another team are often less hardened.
        sp = profile if r.random() < 0.75 else r.choice(["default", "partial", "hardened"])
        containers.append(container(r, side, sp, False, vols))
    spec["containers"] = containers
    if vols:
        clean = []
        for v in vols:
            v = dict(v)
            del v["_mount"]
            clean.append(v)
        spec["volumes"] = clean
    if r.random() < 0.1:
        spec["dnsPolicy"] = "ClusterFirstWithHostNet" if spec.get("hostNetwork") else "ClusterFirst"
    return spec


def metadata(r: random.Random, name: str, ns: str, labels: dict, ann: dict) -> dict:
    md: dict = {"name": name}
    if r.random() < 0.9:
        md["namespace"] = ns
    md["labels"] = labels
    if ann:
        md["annotations"] = ann
    return md


def workload(r: random.Random, kind: str, i: int) -> dict:
    base = dns_name(r)
    name = base if r.random() < 0.6 else f"{base}-{i % 997}"
    team = r.choice(TEAMS)
    env = r.choice(ENVS)
    ns = r.choice([team, f"{team}-{env}", env, "default", "kube-system", "monitoring"])
    version = f"{r.randint(0, 5)}.{r.randint(0, 40)}.{r.randint(0, 15)}"
    # Node agents are where the dangerous settings usually are.
    profile = pick_profile(r)
    if kind == "DaemonSet" and r.random() < 0.4:
        profile = "insecure"
    labels = labels_for(r, name, team, env, version)
    sel = {k: labels[k] for k in list(labels)[:1]}
    tmpl_meta: dict = {"labels": dict(labels)}
    ann = annotations_for(r, name, profile, kind)
    if r.random() < 0.3:
        tmpl_meta["annotations"] = {"checksum/config": "".join(r.choice("0123456789abcdef") for _ in range(64))}
    top: dict = {}
    if r.random() < 0.35:
        top[Comment("c0")] = Comment(r.choice(COMMENTS).format(name=name, v=version))
    doc: dict = {}
    doc.update(top)
    doc["apiVersion"] = {
        "Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
        "Job": "batch/v1", "CronJob": "batch/v1", "Pod": "v1",
    }[kind]
    doc["kind"] = kind
    doc["metadata"] = metadata(r, name, ns, labels, ann)
    if kind == "Pod":
        doc["spec"] = pod_spec(r, name, profile, r.choice([None, "Always", "OnFailure", "Never"]))
        return doc
    tmpl = {"metadata": tmpl_meta, "spec": None}
    if kind in ("Job", "CronJob"):
        tmpl["spec"] = pod_spec(r, name, profile, r.choice(["OnFailure", "Never"]))
        jspec: dict = {}
        if r.random() < 0.5:
            jspec["backoffLimit"] = r.choice([0, 1, 3, 6])
        if r.random() < 0.3:
            jspec["ttlSecondsAfterFinished"] = r.choice([60, 3600, 86400])
        if r.random() < 0.2:
            jspec["activeDeadlineSeconds"] = r.choice([600, 3600])
        jspec["template"] = tmpl
        if kind == "Job":
            doc["spec"] = jspec
        else:
            cspec: dict = {"schedule": r.choice(["*/5 * * * *", "0 3 * * *", "30 2 * * 0", "@hourly", "15 */6 * * *"])}
            if r.random() < 0.4:
                cspec["concurrencyPolicy"] = r.choice(["Forbid", "Replace", "Allow"])
            if r.random() < 0.3:
                cspec["successfulJobsHistoryLimit"] = 3
                cspec["failedJobsHistoryLimit"] = 1
            if r.random() < 0.2:
                cspec["timeZone"] = r.choice(["Etc/UTC", "Europe/Paris", "America/New_York"])
            cspec["jobTemplate"] = {"spec": jspec}
            doc["spec"] = cspec
        return doc
    tmpl["spec"] = pod_spec(r, name, profile, None)
    spec: dict = {}
    if kind in ("Deployment", "StatefulSet"):
        spec["replicas"] = r.choice([1, 2, 3, 3, 5, 10])
    if r.random() < 0.3:
        spec["revisionHistoryLimit"] = r.choice([3, 5, 10])
    if kind == "StatefulSet":
        spec["serviceName"] = name
    spec["selector"] = {"matchLabels": sel}
    if kind == "Deployment" and r.random() < 0.4:
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": r.choice(["25%", 1]), "maxUnavailable": r.choice([0, "25%"])}}
    if kind == "DaemonSet" and r.random() < 0.4:
        spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    if r.random() < 0.2:
        spec[Comment("t")] = Comment(r.choice(COMMENTS).format(name=name, v=version))
    spec["template"] = tmpl
    if kind == "StatefulSet" and r.random() < 0.7:
        spec["volumeClaimTemplates"] = [{
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": r.choice(["gp3", "standard", "premium-rwo"]),
                     "resources": {"requests": {"storage": r.choice(["10Gi", "50Gi", "200Gi"])}}},
        }]
    doc["spec"] = spec
    return doc


def service(r: random.Random, i: int) -> dict:
    name = dns_name(r)
    ns = r.choice(TEAMS + ["default"])
    ports = []
    for j in range(r.randint(1, 3)):
        p = {"name": PORT_NAMES[j], "port": r.choice([80, 443, 8080, 9090, 5432]) + j, "targetPort": r.choice([8080, "http", 9090]) }
        if r.random() < 0.5:
            p["protocol"] = "TCP"
        ports.append(p)
    spec = {"selector": {"app": name}, "ports": ports}
    t = r.choices(["ClusterIP", "LoadBalancer", "NodePort", None], [0.5, 0.15, 0.1, 0.25])[0]
    if t:
        spec["type"] = t
    if t == "ClusterIP" and r.random() < 0.1:
        spec["clusterIP"] = "None"
    ann = {}
    if t == "LoadBalancer" and r.random() < 0.6:
        ann["service.beta.kubernetes.io/aws-load-balancer-type"] = "nlb"
        ann["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true"
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(r, name, ns, {"app": name}, ann), "spec": spec}


def configmap(r: random.Random, i: int) -> dict:
    name = dns_name(r) + "-config"
    ns = r.choice(TEAMS + ["default"])
    data = {}
    for key in r.sample(["config.yaml", "nginx.conf", "app.ini", "entrypoint.sh", "features.json"], r.randint(1, 2)):
        data[key] = Literal(r.choice(CM_SNIPPETS))
    for key in r.sample(["LOG_LEVEL", "REGION", "TIMEOUT", "ENABLE_CACHE"], r.randint(0, 3)):
        data[key] = r.choice(["info", "eu-west-1", "30s", "true", "42"])
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(r, name, ns, {"app": name}, {}), "data": data}


def other(r: random.Random, i: int) -> dict:
    name = dns_name(r)
    ns = r.choice(TEAMS)
    if r.random() < 0.5:
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(r, name, ns, {"app": name}, {}),
                "automountServiceAccountToken": r.random() < 0.5}
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": metadata(r, name, ns, {"app": name}, {"cert-manager.io/cluster-issuer": "letsencrypt"}),
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [f"{name}.acme.io"], "secretName": name + "-tls"}],
            "rules": [{"host": f"{name}.acme.io", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}],
        },
    }


KINDS = [
    ("Deployment", 0.36), ("StatefulSet", 0.08), ("DaemonSet", 0.06),
    ("CronJob", 0.06), ("Job", 0.05), ("Pod", 0.09),
    ("Service", 0.11), ("ConfigMap", 0.06), ("Other", 0.03),
]


def document(seed: int, i: int) -> str:
    # One generator per document: document i is the same in every corpus.
    r = random.Random(seed * 1_000_003 + i)
    kind = r.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
    if kind == "Service":
        doc = service(r, i)
    elif kind == "ConfigMap":
        doc = configmap(r, i)
    elif kind == "Other":
        doc = other(r, i)
    else:
        doc = workload(r, kind, i)
    # Hand-written manifests quote some values; generated ones quote none or all.
    opts = {
        "indent_seq": r.random() < 0.5,
        "quote_p": r.choice([0.0, 0.0, 0.0, 0.15, 0.3, 1.0]),
        "quote_style": r.choice([1, 2]),
        "rng": r,
    }
    lines: list[str] = []
    emit(doc, 0, lines, opts)
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("count", nargs="?", type=int, default=100_000)
    ap.add_argument("output", nargs="?", default=os.path.join("bench", "out", "corpus.yaml"))
    ap.add_argument("--seed", type=int, default=20261101)
    ap.add_argument("--slice", action="append", default=[], metavar="N:PATH",
                    help="also write the first N documents to PATH")
    a = ap.parse_args()
    slices = []
    for s in a.slice:
        n, _, path = s.partition(":")
        if not n.isdigit() or not path:
            ap.error(f"--slice {s!r}: expected N:PATH")
        slices.append((int(n), path))
    for path in [a.output] + [p for _, p in slices]:
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
    main_out = open(a.output, "w", encoding="utf-8", newline="\n")
    slice_outs = [(n, open(p, "w", encoding="utf-8", newline="\n")) for n, p in slices]
    total = 0
    with main_out:
        for i in range(max([a.count] + [n for n, _ in slices])):
            text = "---\n" + document(a.seed, i)
            if i < a.count:
                main_out.write(text)
                total += len(text)
            for n, f in slice_outs:
                if i < n:
                    f.write(text)
    for _, f in slice_outs:
        f.close()
    print(f"wrote {a.count} documents, {total} bytes ({total / max(a.count, 1):.0f} B/doc) to {a.output}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
