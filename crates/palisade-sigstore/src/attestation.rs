//! Attestations: a DSSE bundle's in-toto statement, its `predicateType`,
//! and conditions on it written in CEL (`predicate.buildDefinition
//! .buildType == '...'`), checked after the bundle verifies.

use base64::Engine as _;
use serde_json::Value as Json;

use crate::Failure;

/// What an attestation must say.
#[derive(Debug, Clone, Default)]
pub struct AttestationCheck {
    /// The statement's `predicateType`, exactly (none: any).
    pub predicate_type: Option<String>,
    /// CEL expressions that must all be true, over the variables
    /// `predicate`, `predicateType`, `subject` and `statement`.
    pub conditions: Vec<String>,
}

/// The in-toto statement of a DSSE bundle, if it has one.
pub fn statement(bundle_json: &str) -> Option<Json> {
    let bundle: Json = serde_json::from_str(bundle_json).ok()?;
    let envelope = bundle.get("dsseEnvelope")?;
    if envelope.get("payloadType")?.as_str()? != "application/vnd.in-toto+json" {
        return None;
    }
    let payload = envelope.get("payload")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether a condition compiles: `Err` gives the column and the message.
pub fn check_condition(src: &str) -> Result<(), String> {
    palisade_cel::Expression::compile(src)
        .map(|_| ())
        .map_err(|e| format!("column {}: {}", e.column, e.message))
}

/// Checks a verified bundle's statement against `check`.
pub fn check_statement(bundle_json: &str, check: &AttestationCheck) -> Result<(), Failure> {
    if check.predicate_type.is_none() && check.conditions.is_empty() {
        return Ok(());
    }
    let Some(st) = statement(bundle_json) else {
        return Err(Failure::NotVerified(
            "not an attestation: the bundle holds no in-toto statement".into(),
        ));
    };
    let got = st.get("predicateType").and_then(Json::as_str).unwrap_or("");
    if let Some(want) = &check.predicate_type {
        if got != want {
            return Err(Failure::NotVerified(format!(
                "predicate type mismatch: got {got:?}"
            )));
        }
    }
    let mut a = palisade_cel::Activation::new();
    a.set_json("predicate", st.get("predicate").unwrap_or(&Json::Null));
    a.set_json("predicateType", &Json::String(got.to_string()));
    a.set_json("subject", st.get("subject").unwrap_or(&Json::Null));
    a.set_json("statement", &st);
    for src in &check.conditions {
        let expr = palisade_cel::Expression::compile(src).map_err(|e| {
            Failure::Input(format!(
                "condition {src:?}: column {}: {}",
                e.column, e.message
            ))
        })?;
        let mut budget =
            palisade_cel::Budget::new(palisade_cel::PER_CALL_LIMIT, palisade_cel::PER_CALL_LIMIT);
        match expr.eval(&a, &mut budget) {
            Ok(d) if d.as_bool() == Some(true) => {}
            Ok(d) if d.as_bool() == Some(false) => {
                return Err(Failure::NotVerified(format!(
                    "attestation condition is false: {src}"
                )))
            }
            Ok(other) => {
                return Err(Failure::NotVerified(format!(
                    "attestation condition {src:?} is not a bool: {other:?}"
                )))
            }
            Err(e) => {
                return Err(Failure::NotVerified(format!(
                    "attestation condition {src:?} cannot be evaluated: {e}"
                )))
            }
        }
    }
    Ok(())
}
