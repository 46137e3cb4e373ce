//! Which resources an EncryptionConfiguration covers: Secrets at all, and
//! entries the API server rejects because an earlier wildcard masks them.

use palisade_core::{Context, Rule, RuleMeta, Seg, Severity, Target, Violation};

use super::{config, group_resource, CIS_URL, ENCRYPT_URL};

/// Catalog entry of [`SecretsNotCovered`].
pub static SECRETS_NOT_COVERED: RuleMeta = RuleMeta {
    id: "encryption/secrets-not-covered",
    title: "EncryptionConfiguration does not cover Secrets",
    severity: Severity::High,
    level: None,
    rationale: "The API server encrypts only the resources an EncryptionConfiguration names; Secrets are covered by an entry listing secrets (or secrets.), every core resource (*.) or everything (*.*). A configuration that names only other resources leaves every Secret in etcd as plain protobuf, while --encryption-provider-config being set makes the cluster look encrypted (CIS 1.2.27 passes on the flag alone).",
    remediation: "Add secrets to the resources of an entry whose first provider encrypts (kms v2 or secretbox), restart the API servers, then rewrite the Secrets: kubectl get secrets -A -o json | kubectl replace -f -.",
    references: &[ENCRYPT_URL, "CIS Kubernetes Benchmark v1.9 1.2.27", CIS_URL],
};

/// `encryption/secrets-not-covered`.
pub struct SecretsNotCovered;

impl Rule for SecretsNotCovered {
    fn meta(&self) -> &RuleMeta {
        &SECRETS_NOT_COVERED
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        if c.secrets_entry().is_some() {
            return;
        }
        out.push(Violation {
            message: "no resources[] entry names secrets, *. or *.*: Secrets are written to etcd unencrypted".to_string(),
            container: None,
            path: vec![Seg::key("resources")],
        });
    }
}

/// Catalog entry of [`MaskedResource`].
pub static MASKED_RESOURCE: RuleMeta = RuleMeta {
    id: "encryption/masked-resource",
    title: "EncryptionConfiguration names a resource an earlier wildcard masks",
    severity: Severity::Medium,
    level: None,
    rationale: "The API server reads the entries in order and refuses a resource that an earlier *.<group> or *.* rule already covers (\"resource is masked by earlier rule\"), as well as overlapping or repeated resources within one entry's list: an API server started with this file does not come up, and one that reloads it keeps its previous configuration. The usual cause is a *.* catch-all placed before the specific entries it was meant to follow.",
    remediation: "Put specific resources (secrets, configmaps) in entries before the wildcard entries, and name each resource once per list.",
    references: &[ENCRYPT_URL],
};

/// `encryption/masked-resource`.
pub struct MaskedResource;

impl Rule for MaskedResource {
    fn meta(&self) -> &RuleMeta {
        &MASKED_RESOURCE
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        // Resources configured by earlier entries, as the API server's map holds them.
        let mut seen: Vec<((&str, &str), String)> = Vec::new();
        for e in &c.entries {
            let mut own: Vec<(&str, &str)> = Vec::new();
            for &(i, r) in &e.resources {
                let gr = group_resource(r);
                let earlier = |want: (&str, &str)| {
                    seen.iter()
                        .find(|(g, _)| *g == want)
                        .map(|(_, w)| w.clone())
                };
                let why = if own.contains(&gr) {
                    Some(format!(
                        "{r:?} is listed twice in resources[{}].resources",
                        e.index
                    ))
                } else if let Some(w) = own.iter().find(|o| overlaps(**o, gr)) {
                    Some(format!(
                        "{r:?} overlaps {:?} in the same list (resources[{}].resources)",
                        rendered(*w),
                        e.index
                    ))
                } else {
                    earlier(("*", gr.1))
                        .or_else(|| earlier(("*", "*")))
                        .map(|w| format!("{r:?} is masked by the earlier rule {w}"))
                };
                if let Some(why) = why {
                    out.push(Violation {
                        message: format!("{why}: the API server refuses this configuration"),
                        container: None,
                        path: vec![
                            Seg::key("resources"),
                            Seg::Index(e.index),
                            Seg::key("resources"),
                            Seg::Index(i),
                        ],
                    });
                }
                own.push(gr);
            }
            for gr in own {
                seen.push((gr, format!("{:?} (resources[{}])", rendered(gr), e.index)));
            }
        }
    }
}

/// Whether two distinct resources of one list overlap, as upstream
/// validation sees it (`*.*` overlaps everything, `*.<g>` its group).
fn overlaps(a: (&str, &str), b: (&str, &str)) -> bool {
    a != b && (a == ("*", "*") || b == ("*", "*") || (a.1 == b.1 && (a.0 == "*" || b.0 == "*")))
}

/// A group-resource as written (`secrets`, `*.`, `*.apps`).
fn rendered((resource, group): (&str, &str)) -> String {
    if group.is_empty() && resource != "*" {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

#[cfg(test)]
mod tests {
    use crate::encryption::testutil::{config, key32, scan};

    #[test]
    fn a_configuration_without_secrets_fails_and_secrets_or_wildcards_pass() {
        const ID: &str = "encryption/secrets-not-covered";
        let entry = |res: &str| {
            config(&format!(
                "- resources: [{res}]\n  providers:\n  - secretbox:\n      keys: [{{name: k, secret: {}}}]\n",
                key32(1)
            ))
        };
        let f = scan(&entry("configmaps, '*.apps'"), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources");
        assert_eq!(f[0].line, 3);
        for ok in ["secrets", "secrets.", "'*.'", "'*.*'"] {
            assert!(scan(&entry(ok), ID).is_empty(), "{ok}");
        }
    }

    #[test]
    fn a_resource_after_a_wildcard_that_covers_it_fails_and_the_reverse_order_passes() {
        const ID: &str = "encryption/masked-resource";
        let masked = config("- resources: ['*.*']\n  providers: [identity: {}]\n- resources: [secrets]\n  providers: [identity: {}]\n");
        let f = scan(&masked, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources[1].resources[0]");
        assert!(
            f[0].message
                .contains("\"secrets\" is masked by the earlier rule \"*.*\" (resources[0])"),
            "{}",
            f[0].message
        );
        let ordered = config("- resources: [secrets]\n  providers: [identity: {}]\n- resources: ['*.*']\n  providers: [identity: {}]\n");
        assert!(scan(&ordered, ID).is_empty());
        // A group wildcard masks its own group only; an exact name may repeat across entries.
        let groups = config("- resources: ['*.apps', secrets]\n  providers: [identity: {}]\n- resources: [deployments.apps, secrets]\n  providers: [identity: {}]\n");
        let f = scan(&groups, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources[1].resources[0]");
    }

    #[test]
    fn overlapping_or_repeated_resources_in_one_list_fail() {
        const ID: &str = "encryption/masked-resource";
        let f = scan(
            &config("- resources: [secrets, '*.', secrets]\n  providers: [identity: {}]\n"),
            ID,
        );
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["resources[0].resources[1]", "resources[0].resources[2]"]
        );
        assert!(f[1].message.contains("listed twice"), "{}", f[1].message);
    }
}
