//! Registry credentials from a Docker `config.json`, through `docker_credential`
//! (static `auths` entries and credential helpers).

use std::path::Path;

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

use crate::OciError;

/// Keys under which Docker Hub credentials are stored in `config.json`.
const DOCKER_HUB_KEYS: &[&str] = &[
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
];

/// Credentials for `registry` (as `Reference::resolve_registry` names it):
/// from `config` if given, else from `$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`; anonymous when none apply. oci-client runs the
/// Bearer-token challenge with these (Basic for the token endpoint).
pub(crate) fn registry_auth(
    registry: &str,
    config: Option<&Path>,
) -> Result<RegistryAuth, OciError> {
    let keys: Vec<&str> = if registry == "index.docker.io" {
        DOCKER_HUB_KEYS.to_vec()
    } else {
        vec![registry]
    };
    for key in keys {
        let found = match config {
            Some(path) => {
                let file = std::fs::File::open(path).map_err(|e| OciError::Config {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
                docker_credential::get_credential_from_reader(file, key)
            }
            None => docker_credential::get_credential(key),
        };
        match found {
            Ok(DockerCredential::UsernamePassword(user, pass)) => {
                return Ok(RegistryAuth::Basic(user, pass))
            }
            // An identity token is an OAuth refresh token; registries that
            // issue them (ACR) also accept it as the password of `<token>`.
            Ok(DockerCredential::IdentityToken(token)) => {
                return Ok(RegistryAuth::Basic(
                    "00000000-0000-0000-0000-000000000000".to_string(),
                    token,
                ))
            }
            Err(CredentialRetrievalError::ConfigNotFound)
            | Err(CredentialRetrievalError::NoCredentialConfigured) => continue,
            Err(CredentialRetrievalError::ConfigReadError) if config.is_none() => continue,
            Err(e) => {
                return Err(OciError::Config {
                    path: config
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| "docker config".into()),
                    reason: format!("credentials for {key}: {e}"),
                })
            }
        }
    }
    Ok(RegistryAuth::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn basic_auth_from_explicit_config() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        // "user:secret" in base64.
        write!(
            f,
            r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#
        )
        .unwrap();
        let auth = registry_auth("127.0.0.1:5000", Some(f.path())).unwrap();
        assert_eq!(auth, RegistryAuth::Basic("user".into(), "secret".into()));
        let other = registry_auth("example.com", Some(f.path())).unwrap();
        assert_eq!(other, RegistryAuth::Anonymous);
    }

    #[test]
    fn docker_hub_uses_legacy_key() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(
            f,
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#
        )
        .unwrap();
        let auth = registry_auth("index.docker.io", Some(f.path())).unwrap();
        assert_eq!(auth, RegistryAuth::Basic("user".into(), "secret".into()));
    }

    #[test]
    fn missing_explicit_config_is_an_error() {
        let err = registry_auth("x", Some(Path::new("/nonexistent/config.json"))).unwrap_err();
        assert!(matches!(err, OciError::Config { .. }), "{err}");
    }
}
