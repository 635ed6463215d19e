//! Reading from one registry over the distribution API.
//!
//! Every body is bounded while it is read: a `Content-Length` over the cap
//! is refused before the body, and the body is cut at the cap whatever the
//! headers said. Authentication follows the registry's challenge: HTTP basic
//! with a username and password, or a bearer token from the token service it
//! names, asked for anonymously, with a username and password, or by
//! exchanging a refresh token (an `identitytoken`). Tokens are kept per
//! repository, since each is scoped to one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};

use super::credentials::Credentials;
use crate::oci::{FetchError, within};

/// A token service's answer, at most.
const TOKEN_BYTES: u64 = 64 * 1024;
/// An error body quoted in a message, at most.
const QUOTED_BYTES: usize = 300;

/// How requests to one repository are authorized.
#[derive(Clone)]
enum Authorization {
    None,
    Basic(String),
    Bearer(String),
}

/// A body read within its cap, and the digest the registry gave for it.
pub struct Body {
    pub bytes: Vec<u8>,
    pub digest: Option<String>,
}

/// One registry's reader.
pub struct Puller {
    http: reqwest::Client,
    /// `https://host[:port]` or `http://host[:port]`.
    base: String,
    credentials: Credentials,
    /// Why credentials the configuration holds are not sent, if they are not.
    withheld: Option<String>,
    /// Whether credentials may go to a token service over plain HTTP.
    plain_allowed: bool,
    authorizations: Mutex<HashMap<String, Authorization>>,
}

impl Puller {
    pub fn new(
        host: &str,
        plain: bool,
        credentials: Credentials,
        withheld: Option<String>,
        plain_allowed: bool,
        connect_timeout: Duration,
    ) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .user_agent(concat!("sigward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Unavailable {
                what: format!("a client for {host}"),
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: format!("{}://{host}", if plain { "http" } else { "https" }),
            credentials,
            withheld,
            plain_allowed,
            authorizations: Mutex::new(HashMap::new()),
        })
    }

    /// The digest a manifest's tag names, from a `HEAD`; none when the
    /// registry does not say.
    pub async fn head_digest(
        &self,
        repository: &str,
        reference: &str,
        accept: &str,
        what: &str,
    ) -> Result<Option<String>, FetchError> {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self
            .send(Method::HEAD, &path, accept, repository, what)
            .await?;
        Ok(digest_header(response.headers()))
    }

    /// A manifest by tag or digest, at most `max` bytes.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
        accept: &str,
        max: u64,
        what: &str,
    ) -> Result<Body, FetchError> {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self
            .send(Method::GET, &path, accept, repository, what)
            .await?;
        let digest = digest_header(response.headers());
        let bytes = read_bounded(response, what, max).await?;
        Ok(Body { bytes, digest })
    }

    /// The referrers index of `digest`, at most `max` bytes; none when the
    /// registry has no referrers API.
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
        max: u64,
        what: &str,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        let path = format!("/v2/{repository}/referrers/{digest}");
        let accept = crate::oci::IMAGE_INDEX;
        match self
            .send(Method::GET, &path, accept, repository, what)
            .await
        {
            Ok(response) => Ok(Some(read_bounded(response, what, max).await?)),
            Err(FetchError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of the repository's tags (`tags/list`, at most `n`, after
    /// `last`), at most `max` bytes, and whether the registry says more
    /// follow (a `Link` header).
    pub async fn tags_page(
        &self,
        repository: &str,
        n: usize,
        last: Option<&str>,
        max: u64,
        what: &str,
    ) -> Result<(Vec<u8>, bool), FetchError> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("n", &n.to_string());
        if let Some(last) = last {
            query.append_pair("last", last);
        }
        let path = format!("/v2/{repository}/tags/list?{}", query.finish());
        let response = self
            .send(Method::GET, &path, "application/json", repository, what)
            .await?;
        let more = response.headers().contains_key(reqwest::header::LINK);
        Ok((read_bounded(response, what, max).await?, more))
    }

    /// A blob, at most `max` bytes (redirects to storage are followed;
    /// credentials never leave the registry's host).
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
        max: u64,
        what: &str,
    ) -> Result<Vec<u8>, FetchError> {
        let path = format!("/v2/{repository}/blobs/{digest}");
        let response = self
            .send(Method::GET, &path, "*/*", repository, what)
            .await?;
        read_bounded(response, what, max).await
    }

    /// Sends a request, answering one authentication challenge: a second
    /// `401` is reported as any other refusal.
    async fn send(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        repository: &str,
        what: &str,
    ) -> Result<Response, FetchError> {
        let url = format!("{}{path}", self.base);
        let attempt = |authorization: Authorization| {
            let request = self
                .http
                .request(method.clone(), &url)
                .header(ACCEPT, accept);
            let request = match authorization {
                Authorization::None => request,
                Authorization::Basic(value) | Authorization::Bearer(value) => {
                    request.header(AUTHORIZATION, value)
                }
            };
            async move { request.send().await.map_err(|e| unavailable(what, &e)) }
        };
        let mut response = attempt(self.cached(repository)).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let authorization = self.authorize(&challenge, repository, what).await?;
            self.remember(repository, &authorization);
            response = attempt(authorization).await?;
        }
        self.check_status(response, what).await
    }

    async fn check_status(&self, response: Response, what: &str) -> Result<Response, FetchError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::NOT_FOUND {
            return Err(FetchError::NotFound(what.to_owned()));
        }
        let said = quote(response).await;
        let mut reason = format!("HTTP {status}{said}");
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            && let Some(withheld) = &self.withheld
        {
            reason = format!("{reason} ({withheld})");
        }
        Err(refused(what, reason))
    }

    fn cached(&self, repository: &str) -> Authorization {
        self.authorizations
            .lock()
            .ok()
            .and_then(|map| map.get(repository).cloned())
            .unwrap_or(Authorization::None)
    }

    fn remember(&self, repository: &str, authorization: &Authorization) {
        if let Ok(mut map) = self.authorizations.lock() {
            map.insert(repository.to_owned(), authorization.clone());
        }
    }

    /// The authorization a `401`'s challenge asks for.
    async fn authorize(
        &self,
        challenge: &str,
        repository: &str,
        what: &str,
    ) -> Result<Authorization, FetchError> {
        let refused = |reason| refused(what, reason);
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            return match &self.credentials {
                Credentials::Basic { username, password } => Ok(Authorization::Basic(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{password}"))
                ))),
                _ => Err(refused(self.needs_credentials("a username and password"))),
            };
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(refused(format!(
                "unsupported authentication challenge `{challenge}`"
            )));
        }
        let realm = params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("realm"))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| refused("a bearer challenge without a realm".to_owned()))?;
        let service = params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("service"))
            .map(|(_, v)| v.clone());
        let scope = format!("repository:{repository}:pull");
        let token = self.token(&realm, service.as_deref(), &scope, what).await?;
        Ok(Authorization::Bearer(format!("Bearer {token}")))
    }

    fn needs_credentials(&self, kind: &str) -> String {
        match &self.withheld {
            Some(withheld) => format!("the registry asks for {kind}; {withheld}"),
            None => format!("the registry asks for {kind}, and the Docker configuration has none"),
        }
    }

    /// A bearer token from the token service at `realm`.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        what: &str,
    ) -> Result<String, FetchError> {
        let refused = |reason| refused(what, reason);
        let url = reqwest::Url::parse(realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| refused(format!("the token service `{realm}` is not an HTTP URL")))?;
        let plain_remote =
            url.scheme() == "http" && !url.host_str().is_some_and(super::is_loopback);
        let may_send = !plain_remote || self.plain_allowed;
        let request = match (&self.credentials, may_send) {
            (Credentials::RefreshToken(_), false) => {
                return Err(refused(format!(
                    "the refresh token is not sent to `{realm}` over plain HTTP"
                )));
            }
            (Credentials::RefreshToken(refresh), true) => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("client_id", "sigward")
                    .append_pair("scope", scope)
                    .append_pair("refresh_token", refresh);
                if let Some(service) = service {
                    form.append_pair("service", service);
                }
                self.http
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
            (credentials, may_send) => {
                let mut url = url;
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    query.append_pair("scope", scope);
                }
                let request = self.http.get(url);
                match (credentials, may_send) {
                    (Credentials::Basic { username, password }, true) => {
                        request.basic_auth(username, Some(password))
                    }
                    _ => request,
                }
            }
        };
        let response = request.send().await.map_err(|e| unavailable(what, &e))?;
        let status = response.status();
        if !status.is_success() {
            let said = quote(response).await;
            return Err(refused(format!(
                "the token service `{realm}` refused: HTTP {status}{said}"
            )));
        }
        let bytes = read_bounded(response, &format!("the token from {realm}"), TOKEN_BYTES).await?;
        let answer: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| refused(format!("the token service's answer is not JSON: {e}")))?;
        ["token", "access_token"]
            .iter()
            .find_map(|k| answer[*k].as_str().filter(|t| !t.is_empty()))
            .map(str::to_owned)
            .ok_or_else(|| refused("the token service's answer has no token".to_owned()))
    }
}

/// `Docker-Content-Digest`, if it is a sha256 digest.
fn digest_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("docker-content-digest")?.to_str().ok()?;
    let hex = value.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| value.to_owned())
}

/// Reads a body of at most `max` bytes: a larger `Content-Length` is refused
/// before anything is read, and the body is cut at the cap.
async fn read_bounded(mut response: Response, what: &str, max: u64) -> Result<Vec<u8>, FetchError> {
    if let Some(length) = response.content_length() {
        within(what, length, max)?;
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(what, &e))? {
        within(what, (bytes.len() + chunk.len()) as u64, max)?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The start of an error body, for a message.
async fn quote(mut response: Response) -> String {
    let mut said = Vec::new();
    while said.len() < QUOTED_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => said.extend_from_slice(&chunk),
            _ => break,
        }
    }
    said.truncate(QUOTED_BYTES);
    let text = String::from_utf8_lossy(&said);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", text.replace(['\n', '\r'], " "))
    }
}

/// `what` could not be fetched, for `reason`.
fn refused(what: &str, reason: String) -> FetchError {
    FetchError::Unavailable {
        what: what.to_owned(),
        reason,
    }
}

fn unavailable(what: &str, error: &reqwest::Error) -> FetchError {
    refused(what, crate::oci::with_causes(error))
}

/// `Scheme k1="v1",k2=v2`: the scheme and its parameters (RFC 7235).
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    (scheme.to_owned(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_and_bare_values() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params,
            vec![
                ("realm".into(), "https://auth.example/token".into()),
                ("service".into(), "registry.example".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
            ]
        );
        let (scheme, params) = parse_challenge(r#"Basic realm=registry, charset="UTF-8""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(params[0], ("realm".into(), "registry".into()));
        assert_eq!(params[1], ("charset".into(), "UTF-8".into()));
        assert_eq!(parse_challenge("").1, vec![]);
    }
}
