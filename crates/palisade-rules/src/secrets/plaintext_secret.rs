//! `secrets/plaintext-secret-manifest`: a Secret manifest with its data
//! kept in source.
//! <https://kubernetes.io/docs/concepts/security/secrets-good-practices/>

use palisade_core::node::Seg;
use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Violation};

use super::detect;
use super::GOOD_PRACTICES_URL;

/// Catalog entry. High, like a hardcoded credential: `data` is base64, an
/// encoding rather than encryption, so the manifest holds the credentials
/// themselves.
pub static META: RuleMeta = RuleMeta {
    id: "secrets/plaintext-secret-manifest",
    title: "Secret manifest with its data kept in source",
    severity: Severity::High,
    level: None,
    rationale: "A Secret's data is only base64-encoded: whoever can read the manifest (the repository, its history, forks, CI logs, rendered charts) holds the credentials, and deleting the file later does not remove them from history. This is the same exposure as a hardcoded credential, so it has the same severity. About manifests: palisade audit does not report the Secrets it reads from the cluster, where their values belong.",
    remediation: "Keep the values out of the repository and create the Secret from an external store: External Secrets Operator (ExternalSecret from AWS/GCP/Azure secret managers or Vault), HashiCorp Vault (Agent Injector or Vault Secrets Operator), Sealed Secrets (commit only the encrypted SealedSecret), or the Secrets Store CSI driver. Rotate any credential that was committed.",
    references: &[
        GOOD_PRACTICES_URL,
        "https://kubernetes.io/docs/concepts/configuration/secret/",
        "https://external-secrets.io/",
        "https://secrets-store-csi-driver.sigs.k8s.io/",
    ],
};

/// The rule.
pub struct PlaintextSecret;

impl Rule for PlaintextSecret {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(obj) = super::secret_manifest(target) else {
            return;
        };
        for field in ["data", "stringData"] {
            let Some(map) = obj.root.get(field) else {
                continue;
            };
            let keys: Vec<&str> = map
                .entries()
                .iter()
                .filter(|e| holds_value(&e.node, field == "data"))
                .map(|e| e.key.as_str())
                .collect();
            if keys.is_empty() {
                continue;
            }
            const SHOWN: usize = 5;
            let mut list = keys
                .iter()
                .take(SHOWN)
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            if keys.len() > SHOWN {
                list.push_str(&format!(" and {} more", keys.len() - SHOWN));
            }
            out.push(Violation {
                message: format!(
                    "Secret {:?} keeps {} {} in {field} ({list}){}; create it from an external secret store instead of committing it",
                    obj.id.name,
                    keys.len(),
                    if keys.len() == 1 { "value" } else { "values" },
                    if field == "data" { ", only base64-encoded" } else { " as plain text" },
                ),
                container: None,
                path: vec![Seg::key(field)],
            });
        }
    }
}

/// Whether a `data`/`stringData` value is a real value: not empty, not a
/// template (`{{ .Values.x | b64enc }}`) and not a placeholder (once decoded).
fn holds_value(node: &Node, base64: bool) -> bool {
    let Some(s) = node.as_str() else {
        // Numbers and booleans under stringData are values too.
        return !matches!(node.value, palisade_core::Value::Null);
    };
    if s.trim().is_empty() || !detect::literal_value(s) {
        return false;
    }
    if !base64 {
        return true;
    }
    match detect::decode_base64(s) {
        Some(bytes) => match detect::as_text(&bytes) {
            Some(text) => detect::literal_value(text),
            None => !bytes.is_empty(),
        },
        // Not base64: the API server would refuse it, but it is still a value in source.
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::secrets::testutil::{assert_redacted, secrets};

    #[test]
    fn secret_with_data_fails_at_its_data_key() {
        let y = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: YXBw\n  password: UzNjcjN0LVBhc3N3MHJk\nstringData:\n  extra: \"\"\n";
        let f = secrets(y);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, "secrets/plaintext-secret-manifest");
        assert_eq!(f[0].path, "data");
        assert_eq!(f[0].line, 6);
        assert!(f[0].message.contains("\"password\""), "{}", f[0].message);
        assert_redacted(&f, "UzNjcjN0LVBhc3N3MHJk");
    }

    #[test]
    fn string_data_fails_too() {
        let y = "apiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData:\n  token: Zq8vN3xK1wT6\n";
        let f = secrets(y);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "stringData");
        assert_redacted(&f, "Zq8vN3xK1wT6");
    }

    #[test]
    fn service_account_token_without_data_and_templates_pass() {
        let y = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sa-token\n  annotations: {kubernetes.io/service-account.name: build}\ntype: kubernetes.io/service-account-token\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: chart}\ndata:\n  password: $(PASSWORD_B64)\n  placeholder: Y2hhbmdlbWU=\nstringData:\n  token: ${TOKEN}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: empty}\ndata: {}\n";
        let f = secrets(y);
        assert!(f.is_empty(), "{f:#?}");
    }
}
