#!/usr/bin/env python3
"""Deterministic corpus of Kubernetes manifests with planted credentials.

Writes OUT/corpus/*.yaml and OUT/truth.json:

    {"planted": [{"file", "line", "kind"}...],   # one entry per credential
     "ignored": [{"file", "line"}...],           # Secret data lines: not scored
     "bytes": N, "files": N, "seed": N}

Every detector kind is planted (AWS key id and secret key, GCP service
account JSON, Azure storage key, GitHub, GitLab, Slack token and webhook,
Stripe, npm, PEM private key, JWT, URL with user:password@, generic
passwords of high and low entropy) in the places manifests hold them: env
values, container args and shell commands, ConfigMap keys and embedded
files, annotations, custom resources. Around them sits realistic noise that
is not secret: UUIDs, sha256 checksums, image digests, git SHAs, base64
config blobs and CA bundles, certificates, URLs without passwords,
placeholder passwords, references and templates, file paths.

The `line` of a planted credential is the 1-based line where its value
starts (for a PEM key or a GCP key file, the `-----BEGIN` / `"private_key"`
line). `kind: Secret` manifests are also written, as real repositories hold
them; their data lines are listed under `ignored` so that neither tool is
scored on them (palisade reports them with its own rule).

Standard library only. Usage: gen.py OUT_DIR [--mb 20] [--seed 20261122]
"""

import argparse
import base64
import hashlib
import json
import os
import random
import string
import uuid

ALNUM = string.ascii_letters + string.digits
B64 = string.ascii_letters + string.digits + "+/"
PW_CHARS = string.ascii_letters + string.digits + "!#%&*+-.=?@^_~"
WEAK = ["summer2024", "Welcome1", "admin123", "letmein99", "password1!", "qwerty123",
        "hunter22", "dbadmin01", "Spring2023", "monkey12", "abc12345", "iloveyou2"]
PLACEHOLDERS = ["changeme", "${DB_PASSWORD}", "<password>", "REPLACE_ME", "xxxxxxxxxxxx",
                "$(API_TOKEN)", "TODO", "example", "dummy", "********", "change-me", "none",
                "<your-api-key>", "${SECRET_KEY}"]
APPS = ["checkout", "payments", "catalog", "search", "auth", "gateway", "billing", "orders",
        "inventory", "notifier", "reports", "ledger", "profile", "media", "metrics"]
TEAMS = ["shop", "platform", "data", "ml", "ops", "finance", "growth"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    # ------------------------------------------------------------ values
    def rs(self, alphabet, n):
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def hexs(self, n):
        return self.rs("0123456789abcdef", n)

    def uuid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def b64(self, nbytes):
        return base64.b64encode(bytes(self.r.getrandbits(8) for _ in range(nbytes))).decode()

    def aws_id(self):
        return self.r.choice(["AKIA", "ASIA"]) + self.rs(string.ascii_uppercase + "234567", 16)

    def aws_secret(self):
        s = self.rs(B64, 40)
        return s if any(c.isdigit() for c in s) else s[:-1] + "7"

    def azure_key(self):
        return self.b64(64)  # 88 characters ending in "=="

    def github(self):
        if self.r.random() < 0.25:
            return "github_pat_" + self.rs(ALNUM, 22) + "_" + self.rs(ALNUM, 59)
        return self.r.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + self.rs(ALNUM, 36)

    def gitlab(self):
        return "glpat-" + self.rs(ALNUM + "_-", 20)

    def slack(self):
        return "xox%s-%s-%s-%s" % (self.r.choice("bpa"), self.rs(string.digits, 11),
                                    self.rs(string.digits, 13), self.rs(ALNUM, 24))

    def slack_hook(self):
        return "https://hooks.slack.com/services/T%s/B%s/%s" % (
            self.rs(string.ascii_uppercase + string.digits, 8),
            self.rs(string.ascii_uppercase + string.digits, 10), self.rs(ALNUM, 24))

    def stripe(self):
        return self.r.choice(["sk_live_", "rk_live_"]) + self.rs(ALNUM, 24 + self.r.randrange(0, 76))

    def npm(self):
        return "npm_" + self.rs(ALNUM, 36)

    def jwt(self):
        enc = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
        head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = enc(json.dumps({"sub": self.uuid(), "iat": 1700000000 + self.r.randrange(10**7),
                               "role": self.r.choice(["admin", "svc", "reader"])}).encode())
        return "%s.%s.%s" % (head, body, enc(bytes(self.r.getrandbits(8) for _ in range(32))))

    def strong_pw(self):
        while True:
            p = self.rs(PW_CHARS, self.r.randrange(16, 25))
            # YAML-safe in double quotes and not a template; high entropy by construction.
            if not p.startswith(("-", "?", "*", "&", "!", "%", "@")) and "${" not in p:
                return p

    def weak_pw(self):
        return self.r.choice(WEAK)

    def pem_body(self, lines):
        return [self.rs(B64, 64) for _ in range(lines)]

    def sha256(self):
        return hashlib.sha256(self.r.getrandbits(64).to_bytes(8, "big")).hexdigest()


class Doc:
    """Lines of one file, with planted credentials tracked by line."""

    def __init__(self, name):
        self.name = name
        self.lines = []
        self.planted = []
        self.ignored = []

    def add(self, line, kind=None, ignore=False):
        self.lines.append(line)
        n = len(self.lines)
        if kind:
            self.planted.append({"file": self.name, "line": n, "kind": kind})
        if ignore:
            self.ignored.append({"file": self.name, "line": n})

    def size(self):
        return sum(len(l) + 1 for l in self.lines)


def q(v):
    return json.dumps(v)  # a YAML-compatible double-quoted scalar


# ---------------------------------------------------------------- documents
def deployment(g, d, plant):
    app, ns = g.r.choice(APPS), g.r.choice(TEAMS)
    d.add("apiVersion: apps/v1")
    d.add("kind: Deployment")
    d.add("metadata:")
    d.add("  name: %s-%s" % (app, g.hexs(5)))
    d.add("  namespace: %s" % ns)
    d.add("  labels: {app: %s, app.kubernetes.io/version: %s}" % (app, g.hexs(40)))
    d.add("  annotations:")
    d.add("    deployment.kubernetes.io/revision: \"%d\"" % g.r.randrange(1, 90))
    if plant and g.r.random() < 0.15:
        kind, v = g.r.choice([("github-token", g.github()), ("slack-webhook", g.slack_hook()),
                              ("gitlab-token", g.gitlab())])
        d.add("    ci.example.com/token: %s" % q(v), kind)
    d.add("spec:")
    d.add("  replicas: %d" % g.r.randrange(1, 6))
    d.add("  selector:")
    d.add("    matchLabels: {app: %s}" % app)
    d.add("  template:")
    d.add("    metadata:")
    d.add("      labels: {app: %s}" % app)
    d.add("      annotations:")
    d.add("        checksum/config: %s" % g.sha256())
    d.add("        trace.example.com/id: %s" % g.uuid())
    d.add("    spec:")
    d.add("      serviceAccountName: %s" % app)
    d.add("      containers:")
    d.add("      - name: %s" % app)
    d.add("        image: registry.example.com/%s/%s@sha256:%s" % (ns, app, g.sha256()))
    d.add("        ports: [{containerPort: %d}]" % g.r.choice([8080, 8443, 9090, 3000]))
    args = g.r.random()
    if plant and args < 0.2:
        d.add("        args:")
        d.add("        - --log-level=info")
        kind = g.r.choice(["generic-high", "generic-weak", "stripe-key", "url-credentials"])
        if kind == "generic-high":
            d.add("        - %s" % q("--db-password=" + g.strong_pw()), kind)
        elif kind == "generic-weak":
            d.add("        - --admin-password")
            d.add("        - %s" % q(g.weak_pw()), kind)
        elif kind == "stripe-key":
            d.add("        - --stripe-key=%s" % g.stripe(), kind)
        else:
            d.add("        - %s" % q("--database=postgres://%s:%s@db.%s:5432/%s" % (
                app, g.rs(ALNUM, 16), ns, app)), kind)
    elif plant and args < 0.3:
        d.add("        command:")
        d.add("        - sh")
        d.add("        - -c")
        if g.r.random() < 0.5:
            d.add("        - %s" % q("export AWS_ACCESS_KEY_ID=%s && exec /app/%s" % (g.aws_id(), app)),
                  "aws-access-key-id")
        else:
            d.add("        - %s" % q("export API_TOKEN=%s && exec /app/%s" % (g.strong_pw(), app)),
                  "generic-high")
    else:
        d.add("        args: [\"--config=/etc/%s/config.yaml\", \"--token-file=/var/run/secrets/token\"]" % app)
    d.add("        env:")
    d.add("        - name: LOG_LEVEL")
    d.add("          value: info")
    d.add("        - name: CONFIG_CHECKSUM")
    d.add("          value: %s" % q(g.sha256()))
    d.add("        - name: DB_PASSWORD")
    d.add("          valueFrom:")
    d.add("            secretKeyRef: {name: %s-db, key: password}" % app)
    d.add("        - name: PASSWORD_FILE")
    d.add("          value: /run/secrets/%s/password" % app)
    d.add("        - name: API_KEY")
    d.add("          value: %s" % q(g.r.choice(PLACEHOLDERS)))
    d.add("        - name: OIDC_TOKEN_URL")
    d.add("          value: https://auth.example.com/realms/%s/protocol/openid-connect/token" % ns)
    if plant:
        for _ in range(g.r.choice([1, 1, 2])):
            kind = g.r.choice(["generic-high", "generic-high", "generic-weak", "aws-secret-access-key",
                               "github-token", "npm-token", "slack-token", "jwt", "azure-storage-key"])
            name, v = {
                "generic-high": (g.r.choice(["DB_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET",
                                             "SESSION_SECRET", "ADMIN_PASS"]), g.strong_pw()),
                "generic-weak": (g.r.choice(["DB_PASSWORD", "MYSQL_ROOT_PASSWORD", "SMTP_PASS"]),
                                 g.weak_pw()),
                "aws-secret-access-key": ("AWS_SECRET_ACCESS_KEY", g.aws_secret()),
                "github-token": ("GITHUB_TOKEN", g.github()),
                "npm-token": ("NPM_TOKEN", g.npm()),
                "slack-token": ("SLACK_BOT_TOKEN", g.slack()),
                "jwt": ("SERVICE_JWT", g.jwt()),
                "azure-storage-key": ("AZURE_STORAGE_KEY", g.azure_key()),
            }[kind]
            if g.r.random() < 0.3:
                d.add("        - {name: %s, value: %s}" % (name, q(v)), kind)
            else:
                d.add("        - name: %s" % name)
                d.add("          value: %s" % q(v), kind)
    d.add("        envFrom:")
    d.add("        - configMapRef: {name: %s-config}" % app)
    d.add("        resources:")
    d.add("          limits: {cpu: 500m, memory: 512Mi}")
    d.add("        volumeMounts:")
    d.add("        - {name: tls, mountPath: /etc/tls, readOnly: true}")
    d.add("      volumes:")
    d.add("      - name: tls")
    d.add("        secret: {secretName: %s-tls}" % app)


NGINX = """    server {
      listen 8080;
      server_name %s.example.com;
      location / {
        proxy_pass http://%s:8080;
        proxy_set_header X-Request-Id $request_id;
        proxy_set_header Authorization $http_authorization;
      }
      location /healthz { return 200 'ok'; }
    }"""


# Configuration that names passwords and tokens without holding any.
TRICKY = """  grafana.ini: |
    [security]
    admin_user = admin
    admin_password = $__env{GF_SECURITY_ADMIN_PASSWORD}
    secret_key = ${GF_SECRET_KEY}
    [auth.generic_oauth]
    client_id = %(app)s
    client_secret = ${OAUTH_CLIENT_SECRET}
    token_url = https://auth.example.com/realms/%(app)s/token
  prometheus.yml: |
    scrape_configs:
    - job_name: kubernetes-pods
      bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token
      tls_config: {ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt}
  VAULT_SECRET_PATH: secret/data/%(app)s
  PASSWORDLESS_LOGIN: "true"
  API_KEY_HEADER: X-Api-Key
  TOKEN_PREFIX: Bearer
  DB_PASSWORD_SECRET_NAME: %(app)s-db
  GIT_COMMIT: "%(sha)s"
  SSH_KNOWN_HOSTS: "github.com ssh-ed25519 %(b64)s"
  NOTES.md: |
    Rotate the database password every 90 days; the token is issued by Vault.
    Set `password` in values.yaml to override, never in this file."""


def configmap(g, d, plant):
    app, ns = g.r.choice(APPS), g.r.choice(TEAMS)
    d.add("apiVersion: v1")
    d.add("kind: ConfigMap")
    d.add("metadata:")
    d.add("  name: %s-config" % app)
    d.add("  namespace: %s" % ns)
    d.add("  annotations:")
    d.add("    config.example.com/source-commit: %s" % g.hexs(40))
    d.add("data:")
    d.add("  LOG_FORMAT: json")
    d.add("  CACHE_URL: redis://redis.%s:6379/0" % ns)
    d.add("  UPSTREAM: https://api.example.com/v2/%s?region=eu" % app)
    d.add("  INSTANCE_ID: %s" % q(g.uuid()))
    d.add("  SESSION_TOKEN_TTL: \"3600\"")
    d.add("  PASSWORD_MIN_LENGTH: \"12\"")
    d.add("  DB_PASSWORD: %s" % q(g.r.choice(PLACEHOLDERS)))
    d.add("  existingSecret: %s-credentials" % app)
    if plant:
        # Distinct kinds, so no key is written twice (a YAML reader keeps only the last).
        kinds = g.r.sample(["generic-high", "generic-weak", "url-credentials", "aws-access-key-id",
                            "slack-webhook", "stripe-key", "gitlab-token", "jwt", "npm-token"],
                           g.r.choice([0, 1, 1, 2]))
        for kind in kinds:
            key, v = {
                "generic-high": (g.r.choice(["API_KEY", "CLIENT_SECRET", "REDIS_PASSWORD",
                                             "WEBHOOK_SECRET"]), g.strong_pw()),
                "generic-weak": (g.r.choice(["ADMIN_PASSWORD", "FTP_PASSWD", "LDAP_BIND_PASSWORD"]),
                                 g.weak_pw()),
                "url-credentials": ("DATABASE_URL", "postgres://%s:%s@db.%s:5432/%s" % (
                    app, g.rs(ALNUM, 14), ns, app)),
                "aws-access-key-id": ("AWS_ACCESS_KEY_ID", g.aws_id()),
                "slack-webhook": ("ALERT_WEBHOOK", g.slack_hook()),
                "stripe-key": ("PAYMENTS_KEY", g.stripe()),
                "gitlab-token": ("GITLAB_TOKEN", g.gitlab()),
                "jwt": ("BOOTSTRAP_JWT", g.jwt()),
                "npm-token": ("NPM_TOKEN", g.npm()),
            }[kind]
            d.add("  %s: %s" % (key, q(v)), kind)
    # An embedded properties file.
    d.add("  application.properties: |")
    d.add("    server.port=8080")
    d.add("    spring.application.name=%s" % app)
    d.add("    spring.datasource.url=jdbc:postgresql://db.%s:5432/%s" % (ns, app))
    d.add("    spring.datasource.username=%s" % app)
    if plant and g.r.random() < 0.35:
        if g.r.random() < 0.6:
            d.add("    spring.datasource.password=%s" % g.strong_pw(), "generic-high")
        else:
            d.add("    spring.datasource.password=%s" % g.weak_pw(), "generic-weak")
    else:
        d.add("    spring.datasource.password=${DB_PASSWORD}")
    d.add("    management.endpoints.web.exposure.include=health,info")
    d.add("    app.build.sha=%s" % g.hexs(40))
    if plant and g.r.random() < 0.25:
        d.add("  credentials.ini: |")
        d.add("    [default]")
        d.add("    region = eu-west-1")
        d.add("    aws_access_key_id = %s" % g.aws_id(), "aws-access-key-id")
        d.add("    aws_secret_access_key = %s" % g.aws_secret(), "aws-secret-access-key")
    if plant and g.r.random() < 0.2:
        d.add("  .npmrc: |")
        d.add("    registry=https://registry.npmjs.org/")
        d.add("    //registry.npmjs.org/:_authToken=%s" % g.npm(), "npm-token")
    if plant and g.r.random() < 0.2:
        d.add("  storage.conn: %s" % q("DefaultEndpointsProtocol=https;AccountName=%s%s;AccountKey=%s;EndpointSuffix=core.windows.net" % (
            app, g.hexs(4), g.azure_key())), "azure-storage-key")
    if plant and g.r.random() < 0.15:
        d.add("  sa-key.json: |")
        d.add("    {")
        d.add("      \"type\": \"service_account\",")
        d.add("      \"project_id\": \"%s-%s\"," % (app, g.hexs(6)))
        d.add("      \"private_key_id\": \"%s\"," % g.hexs(40))
        body = "\\n".join(g.pem_body(4))
        d.add("      \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n%s\\n-----END PRIVATE KEY-----\\n\"," % body,
              "gcp-service-account-key")
        d.add("      \"client_email\": \"%s@%s.iam.gserviceaccount.com\"," % (app, app))
        d.add("      \"client_id\": \"%s\"," % g.rs(string.digits, 21))
        d.add("      \"token_uri\": \"https://oauth2.googleapis.com/token\"")
        d.add("    }")
    if plant and g.r.random() < 0.15:
        d.add("  id_rsa: |")
        d.add("    -----BEGIN %sPRIVATE KEY-----" % g.r.choice(["RSA ", "EC ", "OPENSSH ", ""]), "private-key")
        for line in g.pem_body(6):
            d.add("    " + line)
        d.add("    -----END PRIVATE KEY-----")
    # Not secret: a public certificate, a CA bundle, an nginx config.
    if g.r.random() < 0.3:
        d.add("  ca.crt: |")
        d.add("    -----BEGIN CERTIFICATE-----")
        for line in g.pem_body(8):
            d.add("    " + line)
        d.add("    -----END CERTIFICATE-----")
    d.add("  nginx.conf: |")
    for line in (NGINX % (app, app)).split("\n"):
        d.add(line)
    if g.r.random() < 0.3:
        for line in (TRICKY % {"app": app, "sha": g.hexs(40), "b64": g.b64(48)}).split("\n"):
            d.add(line)
    if g.r.random() < 0.3:
        d.add("binaryData:")
        blob = base64.b64encode(json.dumps({"features": {"beta": g.r.random() < 0.5},
                                            "build": g.hexs(12), "shards": g.r.randrange(1, 64)}).encode()).decode()
        d.add("  features.json: %s" % blob)


def secret(g, d):
    app = g.r.choice(APPS)
    d.add("apiVersion: v1")
    d.add("kind: Secret")
    d.add("metadata:")
    d.add("  name: %s-db" % app)
    d.add("type: Opaque")
    d.add("data:", ignore=True)
    d.add("  username: %s" % base64.b64encode(app.encode()).decode(), ignore=True)
    d.add("  password: %s" % base64.b64encode(g.strong_pw().encode()).decode(), ignore=True)


def service(g, d):
    app = g.r.choice(APPS)
    d.add("apiVersion: v1")
    d.add("kind: Service")
    d.add("metadata:")
    d.add("  name: %s" % app)
    d.add("  annotations: {prometheus.io/scrape: \"true\", prometheus.io/port: \"9090\"}")
    d.add("spec:")
    d.add("  selector: {app: %s}" % app)
    d.add("  ports:")
    d.add("  - {name: http, port: 80, targetPort: 8080}")


def webhook(g, d):
    app = g.r.choice(APPS)
    d.add("apiVersion: admissionregistration.k8s.io/v1")
    d.add("kind: ValidatingWebhookConfiguration")
    d.add("metadata:")
    d.add("  name: %s-validator" % app)
    d.add("webhooks:")
    d.add("- name: %s.example.com" % app)
    d.add("  admissionReviewVersions: [v1]")
    d.add("  sideEffects: None")
    d.add("  clientConfig:")
    d.add("    service: {name: %s, namespace: platform, path: /validate}" % app)
    d.add("    caBundle: %s" % g.b64(600))


def custom(g, d, plant):
    app = g.r.choice(APPS)
    d.add("apiVersion: notify.example.com/v1")
    d.add("kind: Notifier")
    d.add("metadata:")
    d.add("  name: %s-alerts" % app)
    d.add("  uid: %s" % g.uuid())
    d.add("spec:")
    d.add("  channel: \"#%s-alerts\"" % app)
    if plant and g.r.random() < 0.5:
        kind, v = g.r.choice([("slack-webhook", g.slack_hook()), ("slack-token", g.slack()),
                              ("url-credentials", "https://%s:%s@alerts.example.com/hook" % (
                                  app, g.rs(ALNUM, 16)))])
        d.add("  webhookURL: %s" % v, kind)
    else:
        d.add("  webhookURL: https://alerts.example.com/hooks/%s" % g.uuid())
    d.add("  credentialsRef: {name: %s-notifier, key: token}" % app)
    d.add("  template: \"$labels.alertname fired on $labels.instance\"")


def external_secret(g, d):
    app = g.r.choice(APPS)
    d.add("apiVersion: external-secrets.io/v1beta1")
    d.add("kind: ExternalSecret")
    d.add("metadata:")
    d.add("  name: %s-db" % app)
    d.add("spec:")
    d.add("  refreshInterval: 1h")
    d.add("  secretStoreRef: {name: vault, kind: ClusterSecretStore}")
    d.add("  target: {name: %s-db}" % app)
    d.add("  data:")
    d.add("  - secretKey: password")
    d.add("    remoteRef: {key: prod/%s/db, property: password}" % app)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--file-kb", type=int, default=100)
    a = ap.parse_args()
    g = Gen(a.seed)
    corpus = os.path.join(a.out, "corpus")
    os.makedirs(corpus, exist_ok=True)
    for f in os.listdir(corpus):
        os.remove(os.path.join(corpus, f))
    target = int(a.mb * 1024 * 1024)
    total, planted, ignored, n = 0, [], [], 0
    while total < target:
        name = "manifests-%04d.yaml" % n
        d = Doc(name)
        first = True
        while d.size() < a.file_kb * 1024:
            if not first:
                d.add("---")
            first = False
            plant = g.r.random() < 0.5
            pick = g.r.random()
            if pick < 0.32:
                deployment(g, d, plant)
            elif pick < 0.62:
                configmap(g, d, plant)
            elif pick < 0.70:
                secret(g, d)
            elif pick < 0.80:
                service(g, d)
            elif pick < 0.86:
                webhook(g, d)
            elif pick < 0.94:
                custom(g, d, plant)
            else:
                external_secret(g, d)
        with open(os.path.join(corpus, name), "w") as fh:
            fh.write("\n".join(d.lines) + "\n")
        total += d.size()
        planted += d.planted
        ignored += d.ignored
        n += 1
    truth = {"seed": a.seed, "files": n, "bytes": total, "planted": planted, "ignored": ignored}
    with open(os.path.join(a.out, "truth.json"), "w") as fh:
        json.dump(truth, fh)
    kinds = {}
    for p in planted:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    print("corpus: %d files, %.1f MB, %d planted credentials (%s)" % (
        n, total / 1e6, len(planted), ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))


if __name__ == "__main__":
    main()
