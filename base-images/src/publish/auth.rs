//! Credentials for a registry, read as the docker CLI reads them: the
//! Docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`)
//! with its `auths`, `credsStore` and `credHelpers`, through
//! `docker_credential`. No config or no entry is anonymous access. A
//! secret is never printed: only where it came from is.

use std::path::{Path, PathBuf};

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

use super::remote::Remote;
use super::PublishError;
use crate::docker_hub;

/// The registry `registry` (`host[:port]`) with the credentials the
/// Docker config gives for it.
pub fn remote(registry: &str) -> Result<Remote, PublishError> {
    let (auth, source) = credentials(registry)?;
    Ok(Remote::new(registry, auth, source))
}

/// The credentials for `registry` the Docker config gives, and where they
/// came from (never the secret).
pub fn credentials(registry: &str) -> Result<(RegistryAuth, String), PublishError> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")));
    credentials_in(dir.map(|d| d.join("config.json")).as_deref(), registry)
}

/// `credentials` from the Docker config file at `config` (none: anonymous).
pub fn credentials_in(config: Option<&Path>, registry: &str) -> Result<(RegistryAuth, String), PublishError> {
    let key = if registry == docker_hub::HOST {
        docker_hub::CONFIG_KEY
    } else {
        registry
    };
    let shown = config.map_or_else(|| "~/.docker/config.json".to_owned(), |p| p.display().to_string());
    let found = match config.map(std::fs::File::open) {
        Some(Ok(file)) => docker_credential::get_credential_from_reader(std::io::BufReader::new(file), key),
        _ => Err(CredentialRetrievalError::ConfigNotFound),
    };
    let config = shown;
    match found {
        Ok(DockerCredential::UsernamePassword(user, password)) => Ok((
            RegistryAuth::Basic(user.clone(), password),
            format!("the credentials of user {user} for {registry} in {config}"),
        )),
        Ok(DockerCredential::IdentityToken(token)) => Ok((
            RegistryAuth::Bearer(token),
            format!("the identity token for {registry} in {config}"),
        )),
        Err(CredentialRetrievalError::NoCredentialConfigured)
        | Err(CredentialRetrievalError::ConfigNotFound)
        | Err(CredentialRetrievalError::ConfigReadError) => Ok((
            RegistryAuth::Anonymous,
            format!("no credentials (none for {registry} in {config}; run `docker login {registry}`)"),
        )),
        Err(CredentialRetrievalError::HelperFailure { helper, .. }) => Err(PublishError::Credentials {
            registry: registry.to_owned(),
            reason: format!(
                "the credential helper docker-credential-{helper} named in {config} failed; run `docker login {registry}` again"
            ),
        }),
        Err(e) => Err(PublishError::Credentials {
            registry: registry.to_owned(),
            reason: format!("{e} (in {config})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_entries_are_used_and_never_shown() -> Result<(), crate::Error> {
        let dir = tempfile::tempdir().map_err(|source| crate::Error::Io {
            path: "tempdir".into(),
            source,
        })?;
        // user "pusher", password "s3cret-value"
        let config = r#"{"auths":{"127.0.0.1:5999":{"auth":"cHVzaGVyOnMzY3JldC12YWx1ZQ=="}}}"#;
        std::fs::write(dir.path().join("config.json"), config).map_err(|source| crate::Error::Io {
            path: dir.path().into(),
            source,
        })?;
        let path = dir.path().join("config.json");
        let (auth, source) = credentials_in(Some(&path), "127.0.0.1:5999")?;
        let (other, other_source) = credentials_in(Some(&path), "127.0.0.1:6000")?;
        let (none, _) = credentials_in(Some(&dir.path().join("absent.json")), "127.0.0.1:5999")?;
        assert!(matches!(none, RegistryAuth::Anonymous));
        assert!(matches!(auth, RegistryAuth::Basic(ref u, ref p) if u == "pusher" && p == "s3cret-value"));
        assert!(source.contains("user pusher") && !source.contains("s3cret"), "{source}");
        assert!(matches!(other, RegistryAuth::Anonymous));
        assert!(other_source.contains("docker login 127.0.0.1:6000"), "{other_source}");
        Ok(())
    }
}
