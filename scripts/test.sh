#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the Debian packages the
# registry and image tests need when they are missing, checks that the
# upstream Pod Security Admission fixtures are there, installs pre-commit for
# the hook test, then runs every test.
#
#   bash scripts/test.sh            # all tests
#   bash scripts/test.sh -p palisade-rbac   # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."

# The conformance suite reads the upstream fixtures from ../shared/corpora
# beside this repository, or from $PALISADE_PSA_CORPUS.
corpus="${PALISADE_PSA_CORPUS:-../shared/corpora/pod-security-admission}"
if [ ! -f "$corpus/INDEX.jsonl" ]; then
  echo "missing $corpus/INDEX.jsonl: the Pod Security Admission conformance suite needs the upstream fixtures" >&2
  echo "(set PALISADE_PSA_CORPUS to the directory holding them)" >&2
  exit 1
fi

# The registry tests push images with skopeo into Debian's docker-registry,
# started on loopback by the tests themselves; the TLS/basic-auth ones make
# certificates with openssl and bcrypt htpasswd entries with apache2-utils;
# the image tests build images with umoci; `scan --kustomize` runs kubectl
# (Debian's kubernetes-client when no kubectl is on PATH); the HTML report
# is opened in Debian's chromium, headless; `palisade etcd` reads a real
# etcd (Debian's etcd-server) that its tests start with TLS.
# The application-package tests build a Go program with Debian's Go
# toolchain from its golang.org/x/text sources, compare Debian's Go binaries
# with `go version -m`, read python3-yaml's metadata and commons-lang3's jar,
# install npm packages with npm and check PyPA's YAML advisories with PyYAML.
packages=(docker-registry skopeo openssl apache2-utils umoci chromium etcd-server
          golang-go golang-golang-x-text-dev python3-yaml libcommons-lang3-java npm)
binaries=(/usr/bin/docker-registry /usr/bin/skopeo /usr/bin/openssl /usr/bin/htpasswd /usr/bin/umoci /usr/bin/chromium /usr/bin/etcd
          /usr/bin/go /usr/share/gocode/src/golang.org/x/text/go.mod /usr/lib/python3/dist-packages/yaml/__init__.py /usr/share/java/commons-lang3.jar /usr/bin/npm)
missing=0
for b in "${binaries[@]}"; do
  [ -e "$b" ] || missing=1
done
if ! command -v kubectl >/dev/null; then
  packages+=(kubernetes-client)
  missing=1
fi
if [ "$missing" = 1 ]; then
  echo "== apt-get install ${packages[*]}"
  as_root() {
    if [ "$(id -u)" = 0 ]; then
      "$@"
    elif command -v sudo >/dev/null; then
      sudo -n "$@"
    else
      echo "installing ${packages[*]} needs root or sudo" >&2
      return 1
    fi
  }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# The pre-commit hook test runs PyPI's pre-commit, kept in a virtualenv
# under target/ (PRE_COMMIT names another one).
pre_commit_venv=target/pre-commit-venv
if [ -z "${PRE_COMMIT:-}" ] && [ ! -x "$pre_commit_venv/bin/pre-commit" ]; then
  echo "== pip install pre-commit into $pre_commit_venv"
  if ! { python3 -m venv "$pre_commit_venv" &&
         "$pre_commit_venv/bin/pip" install -q pre-commit==4.7.0; }; then
    echo "cannot install pre-commit (python3 with venv and pip, and PyPI, are needed)" >&2
    rm -rf "$pre_commit_venv"
    exit 1
  fi
fi

# `pip install --target` in the application-package tests: the same venv's pip.
if [ -z "${PALISADE_TEST_PIP:-}" ] && [ -x "$pre_commit_venv/bin/pip" ]; then
  export PALISADE_TEST_PIP="$PWD/$pre_commit_venv/bin/pip"
fi

echo "== cargo test --workspace --locked $*"
cargo test --workspace --locked "$@"

# The YAML test suite's pass count, printed by its test.
if [ "$#" = 0 ]; then
  cargo test -q -p palisade-core --test yaml_test_suite --locked -- --nocapture 2>&1 | grep "YAML test suite"
fi
