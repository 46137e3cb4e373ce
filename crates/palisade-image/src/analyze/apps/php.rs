//! PHP packages installed by Composer, from `vendor/composer/installed.json`
//! (<https://getcomposer.org/doc/07-runtime.md#installed-versions>,
//! schema of each entry: <https://getcomposer.org/doc/04-schema.md>):
//! Composer 1 writes a JSON array of packages, Composer 2 an object
//! `{"packages": [...], "dev": bool, "dev-package-names": [...]}`. Each
//! package has `name` (`vendor/package`) and `version` as the user sees it
//! (`v6.3.0`, `2.1.x-dev`; `version_normalized` holds Composer's own
//! four-part form).

use serde_json::Value;

/// `(name, version)` of every package of an `installed.json`, in file
/// order, the version as written in `version` (a leading `v` kept).
/// Entries without a string `name` and `version` are skipped. `Err` when
/// the bytes are not JSON, or neither an array nor an object with a
/// `packages` array.
pub fn parse_composer_installed(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("installed.json is not valid JSON: {e}"))?;
    let packages = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("packages") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err("installed.json: \"packages\" is not an array".into()),
            None => return Err("installed.json has no \"packages\" array".into()),
        },
        _ => return Err("installed.json is neither an array nor an object".into()),
    };
    Ok(packages
        .iter()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?.trim();
            let version = p.get("version")?.as_str()?.trim();
            (!name.is_empty() && !version.is_empty())
                .then(|| (name.to_string(), version.to_string()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composer_2_object() {
        let j = br#"{
            "packages": [
                {"name": "symfony/console", "version": "v6.3.0", "version_normalized": "6.3.0.0", "type": "library"},
                {"name": "monolog/monolog", "version": "3.4.0", "version_normalized": "3.4.0.0"},
                {"name": "acme/dev-branch", "version": "dev-main", "version_normalized": "dev-main"},
                {"name": "no/version"},
                {"version": "1.0"},
                {"name": 5, "version": "1"},
                "junk"
            ],
            "dev": true,
            "dev-package-names": []
        }"#;
        assert_eq!(
            parse_composer_installed(j).expect("parses"),
            [
                ("symfony/console".to_string(), "v6.3.0".to_string()),
                ("monolog/monolog".into(), "3.4.0".into()),
                ("acme/dev-branch".into(), "dev-main".into()),
            ]
        );
    }

    #[test]
    fn composer_1_array() {
        let j = br#"[{"name": "guzzlehttp/guzzle", "version": "6.5.5", "version_normalized": "6.5.5.0"}]"#;
        assert_eq!(
            parse_composer_installed(j).expect("parses"),
            [("guzzlehttp/guzzle".to_string(), "6.5.5".to_string())]
        );
        assert_eq!(parse_composer_installed(b"[]"), Ok(Vec::new()));
    }

    #[test]
    fn malformed() {
        assert!(parse_composer_installed(b"{").is_err());
        assert!(parse_composer_installed(b"\xff").is_err());
        assert!(parse_composer_installed(b"42").is_err());
        assert!(parse_composer_installed(br#"{"dev": true}"#).is_err());
        assert!(parse_composer_installed(br#"{"packages": {}}"#).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_composer_installed(deep.as_bytes()).is_err());
    }
}
