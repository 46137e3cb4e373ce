//! The API server's protobuf storage envelope: `k8s\0` followed by a
//! `runtime.Unknown` whose `raw` is the object's own protobuf
//! (k8s.io/apimachinery `runtime/serializer/protobuf`, `runtime/generated.proto`;
//! k8s.io/api `core/v1/generated.proto`). Only the fields that identify an
//! object are declared; prost skips the others.

use prost::Message;

use crate::stored::PROTOBUF_MAGIC;

/// `runtime.TypeMeta`.
#[derive(Clone, PartialEq, Message)]
pub struct TypeMeta {
    /// `apiVersion`.
    #[prost(string, optional, tag = "1")]
    pub api_version: Option<String>,
    /// `kind`.
    #[prost(string, optional, tag = "2")]
    pub kind: Option<String>,
}

/// `runtime.Unknown`: the envelope.
#[derive(Clone, PartialEq, Message)]
pub struct Unknown {
    /// The object's type.
    #[prost(message, optional, tag = "1")]
    pub type_meta: Option<TypeMeta>,
    /// The object's protobuf.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub raw: Option<Vec<u8>>,
    /// Always empty in storage.
    #[prost(string, optional, tag = "3")]
    pub content_encoding: Option<String>,
    /// Always empty in storage.
    #[prost(string, optional, tag = "4")]
    pub content_type: Option<String>,
}

/// `meta.v1.ObjectMeta`, the fields that name an object.
#[derive(Clone, PartialEq, Message)]
pub struct ObjectMeta {
    /// `name`.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// `namespace`.
    #[prost(string, optional, tag = "3")]
    pub namespace: Option<String>,
    /// `uid`.
    #[prost(string, optional, tag = "5")]
    pub uid: Option<String>,
}

/// Any object whose field 1 is its `ObjectMeta` (every built-in kind).
#[derive(Clone, PartialEq, Message)]
pub struct Named {
    /// `metadata`.
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
}

/// `core.v1.Secret`, as written (for tests and benchmarks that fill an
/// etcd the way the API server does).
#[derive(Clone, PartialEq, Message)]
pub struct Secret {
    /// `metadata`.
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    /// `data`.
    #[prost(btree_map = "string, bytes", tag = "2")]
    pub data: std::collections::BTreeMap<String, Vec<u8>>,
    /// `type`.
    #[prost(string, optional, tag = "3")]
    pub r#type: Option<String>,
}

/// The kind and name an opened value holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// What a plaintext value (stored as is, or decrypted) holds, or why it is
/// not a stored object. The value itself is not kept.
pub fn identify(plain: &[u8]) -> Result<Identity, String> {
    if let Some(body) = plain.strip_prefix(PROTOBUF_MAGIC) {
        if body.is_empty() {
            return Err("the protobuf envelope is empty".into());
        }
        let unknown = Unknown::decode(body)
            .map_err(|e| format!("the protobuf envelope does not decode ({e})"))?;
        let kind = unknown
            .type_meta
            .and_then(|t| t.kind)
            .ok_or("the protobuf envelope names no kind")?;
        let named = Named::decode(unknown.raw.as_deref().unwrap_or_default())
            .map_err(|e| format!("the {kind} in the envelope does not decode ({e})"))?;
        let meta = named.metadata.unwrap_or_default();
        return Ok(Identity {
            kind,
            namespace: meta.namespace.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
        });
    }
    let value: serde_json::Value = serde_json::from_slice(plain)
        .map_err(|_| "neither the protobuf envelope nor JSON".to_string())?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    Ok(Identity {
        kind: text(&value["kind"]).ok_or("the JSON object names no kind")?,
        namespace: text(&value["metadata"]["namespace"]).unwrap_or_default(),
        name: text(&value["metadata"]["name"]).unwrap_or_default(),
    })
}

/// A Secret in the storage envelope, exactly as the API server writes it.
pub fn encode_secret(namespace: &str, name: &str, data: &[(&str, &[u8])]) -> Vec<u8> {
    let secret = Secret {
        metadata: Some(ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: Some(format!("{namespace}-{name}")),
        }),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect(),
        r#type: Some("Opaque".into()),
    };
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("Secret".into()),
        }),
        raw: Some(secret.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = PROTOBUF_MAGIC.to_vec();
    unknown.encode(&mut out).expect("a Vec grows");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_secret_is_identified_and_the_envelope_is_the_api_servers() {
        let v = encode_secret("shop", "db", &[("password", b"hunter2")]);
        // k8s\0, then field 1 (TypeMeta) = {1: "v1", 2: "Secret"}.
        assert_eq!(&v[..6], b"k8s\x00\x0a\x0c");
        assert_eq!(&v[6..18], b"\x0a\x02v1\x12\x06Secret");
        let id = identify(&v).unwrap();
        assert_eq!(
            (id.kind.as_str(), id.namespace.as_str(), id.name.as_str()),
            ("Secret", "shop", "db")
        );
        let json =
            br#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"a","namespace":"b"}}"#;
        assert_eq!(identify(json).unwrap().name, "a");
    }

    #[test]
    fn garbage_is_not_a_stored_object() {
        for bad in [
            &b"k8s\x00"[..],
            b"k8s\x00\xff\xff\xff",
            b"\x00\x01",
            b"[1]",
            b"{\"a\":1}",
        ] {
            assert!(identify(bad).is_err(), "{bad:?}");
        }
    }
}
