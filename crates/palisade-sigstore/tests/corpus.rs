//! Every bundle of ../shared/corpora/sigstore (real bundles from the
//! Sigstore clients' own tests) whose verdict upstream states: the
//! verifier must agree with it. Read from the corpus, never copied.

use std::path::PathBuf;

use palisade_sigstore::{trusted_root, verify_blob, Failure, Signed, Signer, Subject};
use serde_json::Value;

fn corpus() -> PathBuf {
    if let Ok(dir) = std::env::var("PALISADE_SIGSTORE_CORPUS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigstore")
}

fn read(rel: &str) -> String {
    let p = corpus().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Entries whose verdict depends on verifier settings upstream sets in test
/// code and a bundle verifier does not have, or where palisade is stricter
/// on purpose: (file suffix, why).
const NOT_REPRODUCIBLE: [(&str, &str); 3] = [
    (
        "tsa/bundle.txt.sigstore",
        "its RFC 3161 timestamp's message imprint is SHA-512(\"hello\"), not the signature's hash: \
         the Sigstore client specification requires the signature, and palisade rejects it (test below)",
    ),
    (
        "tsa/bundle.txt.late_timestamp.sigstore",
        "upstream requires two verified time sources; the verdict is not asserted with one",
    ),
    (
        "bundles/public-key-validity.sigstore.json",
        "upstream trusts the key with a one-second validity window set in its test code",
    ),
];

/// The trusted root of an entry, with upstream's patch applied.
fn root_of(entry: &Value) -> palisade_sigstore::TrustedRoot {
    let Some(path) = entry["trusted_root"].as_str() else {
        // Upstream fails it before consulting a root: the embedded one.
        return palisade_sigstore::production_root().unwrap_or_else(|e| panic!("{e}"));
    };
    let mut root: Value = serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{e}"));
    if let Some(patch) = entry["trust_patch"].as_str() {
        // The only patch upstream makes: the test TSA as the one timestamp authority.
        assert!(
            patch.contains("timestampAuthorities") && patch.contains("ca.json"),
            "{patch}"
        );
        let ca: Value = serde_json::from_str(&read("sigstore-python/test/assets/tsa/ca.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        root["timestampAuthorities"] = Value::Array(vec![ca]);
    }
    trusted_root(&root.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// The signed artifact: its file, the digest upstream passes, or the DSSE
/// statement's first subject.
fn signed_of(entry: &Value, blob: &mut Vec<u8>) -> Option<String> {
    if let Some(a) = entry["artifact"].as_str() {
        *blob = std::fs::read(corpus().join(a)).unwrap_or_else(|e| panic!("{e}"));
        return None;
    }
    let digest = entry["artifact_digest_expected"]
        .as_object()
        .or_else(|| entry["bundle"]["dsse"]["statement"]["subjects"][0][1].as_object())?;
    let (alg, hex) = digest.iter().next()?;
    Some(format!("{alg}:{}", hex.as_str()?))
}

fn signer_of(entry: &Value) -> Signer {
    if entry["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("examples/bundle-publish.json"))
    {
        return Signer::Key(read("sigstore-go/examples/publish_key.pub"));
    }
    match entry["identity"].as_object() {
        Some(id) => Signer::Keyless {
            issuer: id["issuer"].as_str().unwrap_or("").to_string(),
            subject: Subject::Exact(id["subject"].as_str().unwrap_or("").to_string()),
            claims: Default::default(),
        },
        None => Signer::Keyless {
            issuer: String::new(),
            subject: Subject::Regex(".*".into()),
            claims: Default::default(),
        },
    }
}

#[test]
fn every_bundle_with_a_known_verdict_agrees_with_upstream() {
    let index = read("INDEX.jsonl");
    let (mut agreed, mut skipped, mut unknown) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for line in index.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        let file = entry["file"].as_str().unwrap().to_string();
        let expect = entry["expect"].as_str().unwrap();
        if expect == "unknown" {
            unknown += 1;
            continue;
        }
        if NOT_REPRODUCIBLE.iter().any(|(f, _)| file.ends_with(f)) {
            skipped += 1;
            continue;
        }
        let root = root_of(&entry);
        let mut blob = Vec::new();
        let digest = signed_of(&entry, &mut blob);
        let signed = match &digest {
            Some(d) => Signed::Digest(d),
            None => Signed::Blob(&blob),
        };
        let result = verify_blob(signed, &read(&file), &signer_of(&entry), &root);
        let ok = matches!(
            (expect, &result),
            ("pass", Ok(_)) | ("fail", Err(Failure::NotVerified(_)))
        );
        if ok {
            agreed += 1;
        } else {
            disagreements.push(format!("{file}: upstream {expect}, got {result:?}"));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    assert_eq!(
        (agreed, skipped, unknown),
        (29, 3, 2),
        "every entry is accounted for"
    );
}

#[test]
fn each_failing_step_has_its_own_reason() {
    // A real bundle, checked against the wrong identity and issuer, the
    // wrong artifact, and a trust root without its Fulcio.
    let entry = "sigstore-python/test/assets/bundle_v3.txt.sigstore";
    let bundle = read(entry);
    let artifact = std::fs::read(corpus().join("sigstore-python/test/assets/bundle_v3.txt"))
        .unwrap_or_else(|e| panic!("{e}"));
    let index = read("INDEX.jsonl");
    let meta: Value = index
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["file"] == entry)
        .unwrap();
    let root = root_of(&meta);
    let issuer = meta["identity"]["issuer"].as_str().unwrap().to_string();
    let subject = meta["identity"]["subject"].as_str().unwrap().to_string();
    let reason = |signed: Signed<'_>, signer: &Signer, root: &palisade_sigstore::TrustedRoot| {
        match verify_blob(signed, &bundle, signer, root) {
            Err(Failure::NotVerified(r)) => r,
            other => panic!("{other:?}"),
        }
    };
    let keyless = |issuer: &str, subject: Subject| Signer::Keyless {
        issuer: issuer.into(),
        subject,
        claims: Default::default(),
    };
    let good = keyless(&issuer, Subject::Exact(subject.clone()));
    assert!(verify_blob(Signed::Blob(&artifact), &bundle, &good, &root).is_ok());
    let r = reason(
        Signed::Blob(&artifact),
        &keyless(&issuer, Subject::Exact("mallory@example.com".into())),
        &root,
    );
    assert!(r.starts_with("identity mismatch: got "), "{r}");
    assert!(r.contains(&subject), "{r}");
    let r = reason(
        Signed::Blob(&artifact),
        &keyless(&issuer, Subject::Regex("mallory@.*".into())),
        &root,
    );
    assert!(r.starts_with("identity mismatch: got "), "{r}");
    let r = reason(
        Signed::Blob(&artifact),
        &keyless(
            "https://accounts.example.com",
            Subject::Exact(subject.clone()),
        ),
        &root,
    );
    assert!(r.starts_with("issuer mismatch: got "), "{r}");
    let r = reason(Signed::Blob(b"another artifact"), &good, &root);
    assert!(
        r.contains("not for this artifact") || r.contains("signature"),
        "{r}"
    );
    let mut bare: Value =
        serde_json::from_str(&read(meta["trusted_root"].as_str().unwrap())).unwrap();
    bare["certificateAuthorities"] = Value::Array(Vec::new());
    let bare = trusted_root(&bare.to_string()).unwrap();
    let r = reason(Signed::Blob(&artifact), &good, &bare);
    assert!(
        r.starts_with("certificate not issued by a trusted Fulcio"),
        "{r}"
    );
    // Truncated JSON and a digest in the wrong form.
    match verify_blob(
        Signed::Blob(&artifact),
        &bundle[..bundle.len() / 2],
        &good,
        &root,
    ) {
        Err(Failure::NotVerified(r)) => assert!(r.starts_with("not a Sigstore bundle"), "{r}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify_blob(Signed::Digest("md5:00"), &bundle, &good, &root),
        Err(Failure::Input(_))
    ));
}

#[test]
fn a_timestamp_over_other_bytes_than_the_signature_is_rejected() {
    let index = read("INDEX.jsonl");
    let entry: Value = index
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["file"] == "sigstore-python/test/assets/tsa/bundle.txt.sigstore")
        .unwrap();
    let artifact = std::fs::read(corpus().join(entry["artifact"].as_str().unwrap())).unwrap();
    let r = verify_blob(
        Signed::Blob(&artifact),
        &read(entry["file"].as_str().unwrap()),
        &signer_of(&entry),
        &root_of(&entry),
    );
    match r {
        Err(Failure::NotVerified(m)) => assert!(m.starts_with("timestamp rejected"), "{m}"),
        other => panic!("{other:?}"),
    }
}
