//! Registry credentials from the Docker configuration (`config.json`,
//! credential helpers), and whether they may be sent.
//!
//! A username and password are sent as HTTP basic credentials, or to the
//! token service the registry names. An identity token is an OAuth2 refresh
//! token: it is exchanged at the token service for an access token, never
//! sent to the registry itself. A helper that fails, or a configuration that
//! cannot be read, is an error: it is never quietly replaced by anonymous
//! access. Over plain HTTP, credentials are withheld unless the registry is
//! on this machine or the caller allows it.

use std::fmt;

use docker_credential::{CredentialRetrievalError, DockerCredential};

use crate::oci::FetchError;

/// What the Docker configuration holds for a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`).
    RefreshToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets themselves.
        f.write_str(match self {
            Self::Anonymous => "Anonymous",
            Self::Basic { .. } => "Basic(..)",
            Self::RefreshToken(_) => "RefreshToken(..)",
        })
    }
}

/// Credentials for `registry` (`host[:port]`, as the Docker configuration
/// names it).
pub fn lookup(registry: &str) -> Result<Credentials, FetchError> {
    match docker_credential::get_credential(registry) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Credentials::Basic { username, password })
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(Credentials::RefreshToken(token)),
        Err(
            CredentialRetrievalError::NoCredentialConfigured
            | CredentialRetrievalError::ConfigNotFound,
        ) => Ok(Credentials::Anonymous),
        // docker_credential reports a missing file as unreadable; only a file
        // that is there and cannot be read is an error.
        Err(CredentialRetrievalError::ConfigReadError) if !config_file_exists() => {
            Ok(Credentials::Anonymous)
        }
        Err(e) => Err(FetchError::Unavailable {
            what: format!("credentials for {registry}"),
            reason: describe(&e),
        }),
    }
}

/// Whether the Docker configuration file is there: `$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`, where docker_credential reads it.
fn config_file_exists() -> bool {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".docker"))
        });
    dir.is_some_and(|dir| dir.join("config.json").exists())
}

fn describe(error: &CredentialRetrievalError) -> String {
    match error {
        CredentialRetrievalError::HelperFailure {
            helper,
            stdout,
            stderr,
        } => {
            let said = [stderr.trim(), stdout.trim()]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("no output");
            format!("the credential helper `docker-credential-{helper}` failed: {said}")
        }
        CredentialRetrievalError::HelperCommunicationError => {
            "the credential helper could not be run, or did not read its request".to_owned()
        }
        CredentialRetrievalError::MalformedHelperResponse => {
            "the credential helper's answer is not valid".to_owned()
        }
        CredentialRetrievalError::CredentialDecodingError => {
            "the Docker configuration's `auth` entry is not valid base64 `user:password`".to_owned()
        }
        CredentialRetrievalError::ConfigReadError => {
            "the Docker configuration (config.json) cannot be read".to_owned()
        }
        other => format!("{other:?}"),
    }
}

/// Whether credentials may go to a registry reached over `plain` HTTP:
/// always over HTTPS and to this machine; elsewhere only when allowed.
pub fn may_send(plain: bool, loopback: bool, allowed_over_http: bool) -> bool {
    !plain || loopback || allowed_over_http
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_over_plain_http_only_to_this_machine_or_when_allowed() {
        assert!(may_send(false, false, false));
        assert!(may_send(true, true, false));
        assert!(!may_send(true, false, false));
        assert!(may_send(true, false, true));
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let basic = Credentials::Basic {
            username: "user".into(),
            password: "hunter2".into(),
        };
        assert_eq!(format!("{basic:?}"), "Basic(..)");
        let token = Credentials::RefreshToken("refresh-secret".into());
        assert!(!format!("{token:?}").contains("secret"));
    }
}
