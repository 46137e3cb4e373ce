#!/usr/bin/env bash
# gen-certs.sh: TLS for `palisade serve` without cert-manager.
#
# cert-manager (certificate.yaml) is the default TLS source for the webhook.
# This script is the alternative: it creates a private, self-signed CA and
# a serving certificate signed by it for the palisade Service, with openssl
# (ECDSA P-256, SHA-256, valid 365 days, SANs
# palisade.palisade-system.svc and palisade.palisade-system.svc.cluster.local).
#
# Usage:
#   deploy/gen-certs.sh [OUTPUT_DIR]          (default: ./certs)
#
# Writes into OUTPUT_DIR (created if needed, existing files overwritten):
#   ca.crt    the CA certificate: goes, base64-encoded, into the caBundle of
#             both webhook configurations
#   tls.crt   the serving certificate
#   tls.key   its private key (mode 0600): goes, with tls.crt, into the
#             Secret palisade-tls
# The CA's private key is never written out: it is discarded once tls.crt is
# signed, so nothing else can be issued under this CA. To renew, run the
# script again and replace both the Secret and the caBundle.
#
# It then prints the commands that install the Secret and set the caBundle.
#
# Environment (optional): PALISADE_SERVICE (default palisade),
# PALISADE_NAMESPACE (default palisade-system), OPENSSL (default openssl).
#
# Check the result with:
#   openssl verify -CAfile OUTPUT_DIR/ca.crt OUTPUT_DIR/tls.crt
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
esac
if [[ $# -gt 1 ]]; then
  usage >&2
  exit 2
fi

out="${1:-./certs}"
service="${PALISADE_SERVICE:-palisade}"
namespace="${PALISADE_NAMESPACE:-palisade-system}"
openssl="${OPENSSL:-openssl}"
days=365
dns_short="${service}.${namespace}.svc"
dns_full="${dns_short}.cluster.local"

command -v "$openssl" >/dev/null 2>&1 || {
  echo "gen-certs.sh: $openssl not found" >&2
  exit 1
}

mkdir -p -- "$out"
# Keys are created readable by their owner only.
umask 077
work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT

# openssl configuration for the CA and the serving certificate (kept to
# options openssl 1.1.1 and 3.x both understand).
cat >"$work/openssl.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${dns_short}, DNS:${dns_full}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

serial() {
  # 64 random bits as hex (positive: leading 0 nibble pads the top bit away).
  echo "0x0$("$openssl" rand -hex 8)"
}

# 1. The CA: self-signed, P-256.
"$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$work/ca.key" 2>/dev/null
"$openssl" req -config "$work/openssl.cnf" -new -x509 -sha256 \
  -key "$work/ca.key" -subj "/CN=palisade webhook CA" \
  -extensions ca -days "$days" -set_serial "$(serial)" \
  -out "$work/ca.crt"

# 2. The serving key and a signing request for the Service's DNS name.
"$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$work/tls.key" 2>/dev/null
"$openssl" req -config "$work/openssl.cnf" -new -sha256 \
  -key "$work/tls.key" -subj "/CN=${dns_short}" \
  -out "$work/tls.csr"

# 3. The serving certificate, signed by the CA.
"$openssl" x509 -req -sha256 -in "$work/tls.csr" \
  -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial "$(serial)" \
  -days "$days" -extfile "$work/openssl.cnf" -extensions server \
  -out "$work/tls.crt" 2>/dev/null

"$openssl" verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null

# Certificates are public; the key stays 0600.
install -m 0644 "$work/ca.crt" "$out/ca.crt"
install -m 0644 "$work/tls.crt" "$out/tls.crt"
install -m 0600 "$work/tls.key" "$out/tls.key"

ca_bundle="$("$openssl" base64 -A -in "$out/ca.crt")"

cat <<MSG
Wrote $out/ca.crt, $out/tls.crt and $out/tls.key
(CN ${dns_short}, SANs ${dns_short} and ${dns_full}, valid ${days} days).

Without cert-manager, first remove certificate.yaml from
deploy/kustomization.yaml, then:

1. Create the Secret the Deployment mounts at /tls:

  kubectl create secret tls palisade-tls --namespace ${namespace} \\
    --cert=${out}/tls.crt --key=${out}/tls.key

   (to replace an existing one, add --dry-run=client -o yaml | kubectl apply -f -)

2. After kubectl apply -k deploy/, put the CA into both webhook
   configurations' caBundle (base64 of ca.crt):

  CA_BUNDLE="\$(openssl base64 -A -in ${out}/ca.crt)"
  kubectl patch validatingwebhookconfiguration palisade --type=json \\
    -p '[{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"'"\$CA_BUNDLE"'"}]'
  kubectl patch mutatingwebhookconfiguration palisade --type=json \\
    -p '[{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"'"\$CA_BUNDLE"'"}]'

   or write it into deploy/webhooks.yaml, under each clientConfig:

      caBundle: ${ca_bundle}
MSG
