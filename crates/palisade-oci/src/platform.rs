//! Platforms (`os/arch[/variant]`) and the choice of a manifest from an image index.

use std::fmt;
use std::str::FromStr;

use oci_client::manifest::OciImageIndex;

/// A target platform such as `linux/amd64` or `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// CPU architecture in OCI terms (`amd64`, `arm64`).
    pub arch: String,
    /// Architecture variant (`v7`, `v8`), if any.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".to_string(),
            arch: "amd64".to_string(),
            variant: None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || format!("invalid platform {s:?}: expected os/arch or os/arch/variant");
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: os.to_string(),
                    arch: arch.to_string(),
                    variant: Some(variant.to_string()),
                })
            }
            _ => Err(bad()),
        }
    }
}

/// The digest of the index entry for `want`. Without a requested variant the
/// first entry of the right os/arch wins (as `docker pull` does); with one,
/// the variant must match, except that arm64 entries without a variant count as `v8`.
pub(crate) fn choose(index: &OciImageIndex, want: &Platform) -> Option<String> {
    index
        .manifests
        .iter()
        .find(|entry| {
            let Some(p) = &entry.platform else {
                return false;
            };
            if p.os.to_string() != want.os || p.architecture.to_string() != want.arch {
                return false;
            }
            match (&want.variant, &p.variant) {
                (None, _) => true,
                (Some(w), Some(have)) => w == have,
                (Some(w), None) => want.arch == "arm64" && w == "v8",
            }
        })
        .map(|entry| entry.digest.clone())
}

/// The platforms an index lists, for error messages.
pub(crate) fn available(index: &OciImageIndex) -> String {
    let list: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|e| e.platform.as_ref())
        .map(|p| {
            let mut s = format!("{}/{}", p.os, p.architecture);
            if let Some(v) = &p.variant {
                s.push('/');
                s.push_str(v);
            }
            s
        })
        .collect();
    if list.is_empty() {
        "no platforms".to_string()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(json: &str) -> OciImageIndex {
        serde_json::from_str(json).unwrap()
    }

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"amd64"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":1,"platform":{"os":"linux","architecture":"arm64"}}]}"#;

    #[test]
    fn platform_parses_two_and_three_parts() {
        assert_eq!(
            "linux/amd64".parse::<Platform>().unwrap(),
            Platform::default()
        );
        let p: Platform = "linux/arm/v7".parse().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v7"));
        assert_eq!(p.to_string(), "linux/arm/v7");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//".parse::<Platform>().is_err());
        assert!("a/b/c/d".parse::<Platform>().is_err());
    }

    #[test]
    fn choose_matches_os_arch_and_variant() {
        let idx = index(INDEX);
        assert_eq!(
            choose(&idx, &Platform::default()).as_deref(),
            Some("sha256:aa")
        );
        let arm7: Platform = "linux/arm/v7".parse().unwrap();
        assert_eq!(choose(&idx, &arm7).as_deref(), Some("sha256:bb"));
        let arm64v8: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(choose(&idx, &arm64v8).as_deref(), Some("sha256:cc"));
        let s390: Platform = "linux/s390x".parse().unwrap();
        assert_eq!(choose(&idx, &s390), None);
        assert_eq!(available(&idx), "linux/amd64, linux/arm/v7, linux/arm64");
    }
}
