//! The local-key providers' payloads, opened in memory as the API server
//! opens them (k8s.io/apiserver `storage/value/encrypt/aes`, `…/secretbox`):
//! - aescbc: 16-byte IV, then AES-CBC with PKCS#7 padding (not
//!   authenticated: a wrong key is caught by the padding or by the
//!   plaintext not being a stored object);
//! - aesgcm: 12-byte nonce, then AES-GCM ciphertext and tag, the etcd key
//!   as additional authenticated data;
//! - secretbox: 24-byte nonce, then NaCl secretbox (tag first).
//!
//! Keys of 16, 24 or 32 bytes select AES-128/192/256. The plaintext is
//! returned in a buffer that is zeroed when dropped.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_192_GCM, AES_256_GCM};
use aws_lc_rs::cipher::{
    DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use zeroize::Zeroizing;

use crate::stored::Provider;

/// Why a payload did not open (no detail of the key or the data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Shorter than the provider's nonce/IV and tag.
    #[error("the payload is too short for {0}")]
    Short(&'static str),
    /// The key's length does not fit the provider.
    #[error("the key has a length {0} cannot use")]
    KeyLength(&'static str),
    /// Authentication or padding failed.
    #[error("{0} did not decrypt it (wrong key or corrupt value)")]
    Failed(&'static str),
}

/// Opens `payload` (what follows the prefix) with `key`; `etcd_key` is
/// the authenticated data of aesgcm.
pub fn open(
    provider: Provider,
    key: &[u8],
    payload: &[u8],
    etcd_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    match provider {
        Provider::Aescbc => aescbc(key, payload),
        Provider::Aesgcm => aesgcm(key, payload, etcd_key),
        Provider::Secretbox => secretbox(key, payload),
    }
}

fn aescbc(key: &[u8], payload: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    const NAME: &str = "aescbc";
    if payload.len() < 32 || !(payload.len() - 16).is_multiple_of(16) {
        return Err(OpenError::Short(NAME));
    }
    let algorithm = match key.len() {
        16 => &AES_128,
        24 => &AES_192,
        32 => &AES_256,
        _ => return Err(OpenError::KeyLength(NAME)),
    };
    let unbound = UnboundCipherKey::new(algorithm, key).map_err(|_| OpenError::KeyLength(NAME))?;
    let cipher =
        PaddedBlockDecryptingKey::cbc_pkcs7(unbound).map_err(|_| OpenError::KeyLength(NAME))?;
    let (iv, body) = payload.split_at(16);
    let iv: [u8; 16] = iv.try_into().map_err(|_| OpenError::Short(NAME))?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = cipher
        .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| OpenError::Failed(NAME))?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn aesgcm(key: &[u8], payload: &[u8], etcd_key: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    const NAME: &str = "aesgcm";
    if payload.len() < 12 + 16 {
        return Err(OpenError::Short(NAME));
    }
    let algorithm = match key.len() {
        16 => &AES_128_GCM,
        24 => &AES_192_GCM,
        32 => &AES_256_GCM,
        _ => return Err(OpenError::KeyLength(NAME)),
    };
    let key =
        LessSafeKey::new(UnboundKey::new(algorithm, key).map_err(|_| OpenError::KeyLength(NAME))?);
    let (nonce, body) = payload.split_at(12);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Short(NAME))?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(etcd_key), &mut buf)
        .map_err(|_| OpenError::Failed(NAME))?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn secretbox(key: &[u8], payload: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    const NAME: &str = "secretbox";
    if payload.len() < 24 + 16 {
        return Err(OpenError::Short(NAME));
    }
    let cipher = XSalsa20Poly1305::new_from_slice(key).map_err(|_| OpenError::KeyLength(NAME))?;
    let (nonce, body) = payload.split_at(24);
    let plain = cipher
        .decrypt(nonce.into(), body)
        .map_err(|_| OpenError::Failed(NAME))?;
    Ok(Zeroizing::new(plain))
}

/// Seals `plain` as the API server's provider does, with a random IV or
/// nonce (for tests and benchmarks that fill an etcd).
#[cfg(feature = "write")]
pub fn seal(provider: Provider, key: &[u8], plain: &[u8], etcd_key: &[u8]) -> Vec<u8> {
    use aws_lc_rs::cipher::{EncryptionContext, PaddedBlockEncryptingKey};
    let mut out = Vec::new();
    match provider {
        Provider::Aescbc => {
            let algorithm = match key.len() {
                16 => &AES_128,
                24 => &AES_192,
                _ => &AES_256,
            };
            let mut iv = [0u8; 16];
            aws_lc_rs::rand::fill(&mut iv).expect("randomness");
            let cipher = PaddedBlockEncryptingKey::cbc_pkcs7(
                UnboundCipherKey::new(algorithm, key).expect("an AES key"),
            )
            .expect("CBC");
            let mut buf = plain.to_vec();
            cipher
                .less_safe_encrypt(&mut buf, EncryptionContext::Iv128(FixedLength::from(iv)))
                .expect("encrypts");
            out.extend_from_slice(&iv);
            out.extend_from_slice(&buf);
        }
        Provider::Aesgcm => {
            let algorithm = match key.len() {
                16 => &AES_128_GCM,
                24 => &AES_192_GCM,
                _ => &AES_256_GCM,
            };
            let mut nonce = [0u8; 12];
            aws_lc_rs::rand::fill(&mut nonce).expect("randomness");
            let key = LessSafeKey::new(UnboundKey::new(algorithm, key).expect("an AES key"));
            let mut buf = plain.to_vec();
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(etcd_key),
                &mut buf,
            )
            .expect("seals");
            out.extend_from_slice(&nonce);
            out.extend_from_slice(&buf);
        }
        Provider::Secretbox => {
            let mut nonce = [0u8; 24];
            aws_lc_rs::rand::fill(&mut nonce).expect("randomness");
            let cipher = XSalsa20Poly1305::new_from_slice(key).expect("a 32-byte key");
            let sealed = cipher.encrypt((&nonce).into(), plain).expect("seals");
            out.extend_from_slice(&nonce);
            out.extend_from_slice(&sealed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Vectors made independently of this code:
    //   aescbc:    printf 'k8s\0secret' | openssl enc -aes-256-cbc -K 00..1f -iv 000102..0f | xxd -p
    //   aesgcm:    Python `cryptography`: AESGCM(bytes(range(32))).encrypt(bytes(range(12)),
    //              b"k8s\0secret", b"/registry/secrets/shop/db")
    //   secretbox: Python `pynacl`: SecretBox(bytes(range(32))).encrypt(b"k8s\0secret", bytes(range(24)))
    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn an_openssl_aescbc_vector_opens() {
        let payload = [hex("000102030405060708090a0b0c0d0e0f"), hex(AESCBC_CT)].concat();
        let plain = open(Provider::Aescbc, &hex(KEY), &payload, b"").unwrap();
        assert_eq!(&plain[..], b"k8s\0secret");
        let mut wrong = hex(KEY);
        wrong[0] ^= 1;
        assert!(open(Provider::Aescbc, &wrong, &payload, b"")
            .map(|p| p.to_vec() != b"k8s\0secret")
            .unwrap_or(true));
    }

    #[test]
    fn an_independent_aesgcm_vector_opens_only_under_its_etcd_key() {
        let payload = [hex("000102030405060708090a0b"), hex(AESGCM_CT)].concat();
        let plain = open(
            Provider::Aesgcm,
            &hex(KEY),
            &payload,
            b"/registry/secrets/shop/db",
        )
        .unwrap();
        assert_eq!(&plain[..], b"k8s\0secret");
        // Moved to another key in etcd, the value no longer authenticates.
        assert_eq!(
            open(
                Provider::Aesgcm,
                &hex(KEY),
                &payload,
                b"/registry/secrets/shop/other"
            ),
            Err(OpenError::Failed("aesgcm"))
        );
    }

    #[test]
    fn an_independent_secretbox_vector_opens() {
        let payload = [
            hex("000102030405060708090a0b0c0d0e0f1011121314151617"),
            hex(SECRETBOX_CT),
        ]
        .concat();
        let plain = open(Provider::Secretbox, &hex(KEY), &payload, b"").unwrap();
        assert_eq!(&plain[..], b"k8s\0secret");
        let mut bad = payload.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(Provider::Secretbox, &hex(KEY), &bad, b""),
            Err(OpenError::Failed("secretbox"))
        );
    }

    #[test]
    fn short_payloads_and_bad_key_lengths_are_errors_not_panics() {
        for p in [Provider::Aescbc, Provider::Aesgcm, Provider::Secretbox] {
            assert!(matches!(
                open(p, &hex(KEY), b"", b""),
                Err(OpenError::Short(_))
            ));
            assert!(open(p, b"short", &[0; 64], b"").is_err());
        }
        assert!(matches!(
            open(Provider::Aescbc, &hex(KEY), &[0; 33], b""),
            Err(OpenError::Short(_))
        ));
    }

    const AESCBC_CT: &str = "fdd665fd2a2149af43893645a6c1f352";
    const AESGCM_CT: &str = "2c3aa51bb680a169e835c8dccc725f188f6f4c1d0de5b6776d3c";
    const SECRETBOX_CT: &str = "4a461eeeaa8742021a4b8e43736ff64d35c74b4fb4afc162de48";
}
