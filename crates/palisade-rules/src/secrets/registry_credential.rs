//! `secrets/registry-credential`: a registry login kept in a
//! `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg` Secret
//! manifest, the classic leak of a credential in git. The config is decoded
//! (base64 `data`, or plain `stringData`) and each registry's `auth`
//! (base64 `user:password`), `password` and tokens are judged like any
//! other credential: templates and placeholders are not reported.
//! <https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets>

use palisade_core::node::Seg;
use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation};
use serde_json::Value as Json;

use super::detect;
use super::GOOD_PRACTICES_URL;

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "secrets/registry-credential",
    title: "Registry credential kept in a Secret manifest",
    severity: Severity::High,
    level: None,
    rationale: "A docker config Secret holds a registry login: whoever reads the manifest can pull, and usually push, the organisation's images, so a leaked push credential is a supply-chain compromise. The login is only base64-encoded, in the manifest and again inside `auth`. About manifests: palisade audit does not report the Secrets it reads from the cluster, where their values belong.",
    remediation: "Revoke the registry token, then create the pull secret in the cluster from an external store (External Secrets Operator, Vault) or use the node's or the workload's cloud identity for the registry (IRSA, Workload Identity, kubelet credential providers) instead of a static login.",
    references: &[
        GOOD_PRACTICES_URL,
        "https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets",
        "https://kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider/",
    ],
};

/// The rule.
pub struct RegistryCredential;

/// The data keys of the two docker config Secret types.
const KEYS: [&str; 2] = [".dockerconfigjson", ".dockercfg"];

impl Rule for RegistryCredential {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(obj) = super::secret_manifest(target) else {
            return;
        };
        for field in ["data", "stringData"] {
            for key in KEYS {
                let Some(text) = obj.root.get_path(&[field, key]).and_then(|n| n.as_str()) else {
                    continue;
                };
                let Some(config) = config_json(text, field == "data") else {
                    continue;
                };
                for (registry, login) in logins(&config, key == ".dockercfg") {
                    out.push(Violation {
                        message: format!(
                            "Secret {:?} keeps the registry login{} for {registry:?} in {field}[{key:?}] (password {}); create pull secrets from an external store or use a workload identity for the registry",
                            obj.id.name,
                            login.user.map(|u| format!(" of {u:?}")).unwrap_or_default(),
                            detect::preview(&login.secret),
                        ),
                        container: None,
                        path: vec![Seg::key(field), Seg::key(key)],
                    });
                }
            }
        }
    }
}

/// The docker config as JSON: base64-decoded first for `data`.
fn config_json(text: &str, base64: bool) -> Option<Json> {
    let decoded;
    let json = if base64 {
        decoded = detect::decode_base64(text)?;
        std::str::from_utf8(&decoded).ok()?
    } else {
        text
    };
    serde_json::from_str(json).ok()
}

/// One registry's credential.
struct Login {
    user: Option<String>,
    secret: String,
}

/// Each registry with a real credential: `auths.*` for `.dockerconfigjson`,
/// the top-level map for the legacy `.dockercfg`.
fn logins(config: &Json, legacy: bool) -> Vec<(String, Login)> {
    let registries = if legacy {
        config.as_object()
    } else {
        config.get("auths").and_then(Json::as_object)
    };
    let Some(registries) = registries else {
        return Vec::new();
    };
    registries
        .iter()
        .filter_map(|(registry, entry)| Some((registry.clone(), login(entry)?)))
        .collect()
}

/// The credential of one `auths` entry, if it holds a real one.
fn login(entry: &Json) -> Option<Login> {
    let field = |k: &str| {
        entry
            .get(k)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
    };
    let mut user = field("username").map(str::to_string);
    let mut secret = ["password", "identitytoken", "registrytoken"]
        .iter()
        .find_map(|k| field(k))
        .map(str::to_string);
    if let Some(auth) = field("auth") {
        let decoded = detect::decode_base64(auth)?;
        let text = String::from_utf8(decoded).ok()?;
        if let Some((u, p)) = text.split_once(':') {
            user = user.or_else(|| Some(u.to_string()));
            secret = secret.or_else(|| Some(p.to_string()));
        }
    }
    let secret = secret.filter(|s| detect::literal_value(s))?;
    Some(Login { user, secret })
}

#[cfg(test)]
mod tests {
    use crate::secrets::testutil::{assert_redacted, secrets};

    fn b64(s: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = c.iter().fold(0u32, |acc, &x| acc << 8 | u32::from(x)) << (8 * (3 - c.len()));
            for i in 0..=c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
            out.push_str(&"=".repeat(3 - c.len()));
        }
        out
    }

    #[test]
    fn dockerconfigjson_auth_is_decoded_and_reported_without_the_password() {
        let auth = b64("deploy-bot:Zq8rT2mK9wL4xVb7");
        let config = b64(&format!(
            r#"{{"auths":{{"registry.example.com":{{"auth":"{auth}"}}}}}}"#
        ));
        let y = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: regcred}}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {config}\n");
        let f: Vec<_> = secrets(&y)
            .into_iter()
            .filter(|f| f.rule == "secrets/registry-credential")
            .collect();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].path, "data[\".dockerconfigjson\"]");
        assert!(f[0].message.contains("\"deploy-bot\""), "{}", f[0].message);
        assert!(f[0].message.contains("\"registry.example.com\""));
        assert_redacted(&f, "Zq8rT2mK9wL4xVb7");
        assert_redacted(&f, &auth);
    }

    #[test]
    fn string_data_dockercfg_and_placeholders() {
        let y = "apiVersion: v1\nkind: Secret\nmetadata: {name: old}\ntype: kubernetes.io/dockercfg\nstringData:\n  .dockercfg: '{\"quay.io\": {\"username\": \"ci\", \"password\": \"Kp4vR8sT2wX6yZ9q\"}}'\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: chart}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{\"auths\": {\"ghcr.io\": {\"username\": \"me\", \"password\": \"changeme\"}}}'\n";
        let f: Vec<_> = secrets(y)
            .into_iter()
            .filter(|f| f.rule == "secrets/registry-credential")
            .collect();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("\"quay.io\""));
        assert_redacted(&f, "Kp4vR8sT2wX6yZ9q");
    }
}
