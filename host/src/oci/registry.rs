//! An OCI registry over the distribution API, through `oci-client`:
//! anonymous or bearer-token access (credentials from the Docker
//! `config.json`), HTTPS, and plain HTTP for loopback registries or ones
//! named insecure. Every request runs under a deadline.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, manifest::OciImageIndex};

use super::{
    Descriptor, FetchError, MANIFEST_TYPES, Reference, Store, check_digest, limits, within,
};

/// How a registry is reached.
#[derive(Clone, Debug)]
pub struct Options {
    /// Registries (`host[:port]`) reached over plain HTTP. Loopback ones
    /// always are.
    pub insecure: Vec<String>,
    /// The deadline for each request.
    pub timeout: Duration,
    /// The deadline for all the requests of one image, counted from
    /// [`Store::start_image`]: a registry that answers each request just in
    /// time still cannot hold an image for longer.
    pub image_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            timeout: Duration::from_secs(20),
            image_timeout: Duration::from_secs(60),
        }
    }
}

/// Whether `registry` (`host[:port]`) is on this machine.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => registry.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Registry clients: one per registry host, made on first use, so that each
/// host gets its own protocol (HTTP for loopback and insecure ones), with
/// its credentials read once.
pub struct Registry {
    clients: HashMap<String, (Client, RegistryAuth)>,
    runtime: tokio::runtime::Runtime,
    options: Options,
    /// When the current image's time is up.
    image_deadline: Option<Instant>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("options", &self.options)
            .finish()
    }
}

impl Registry {
    /// A store over every registry an image names: loopback ones and those
    /// in `options.insecure` over HTTP, the rest over HTTPS.
    pub fn new(options: Options) -> Result<Self, FetchError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FetchError::Unavailable {
                what: "the registry client".to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            clients: HashMap::new(),
            runtime,
            options,
            image_deadline: None,
        })
    }

    /// The client for `image`'s registry, and the credentials for it.
    fn client(&mut self, image: &Reference) -> (Client, RegistryAuth) {
        let registry = image.registry();
        let options = &self.options;
        self.clients
            .entry(registry.to_owned())
            .or_insert_with(|| {
                let plain = is_loopback(registry) || options.insecure.iter().any(|r| r == registry);
                let client = Client::new(ClientConfig {
                    protocol: if plain {
                        ClientProtocol::Http
                    } else {
                        ClientProtocol::Https
                    },
                    read_timeout: Some(options.timeout),
                    connect_timeout: Some(options.timeout),
                    ..ClientConfig::default()
                });
                (client, auth_for(image.resolve_registry()))
            })
            .clone()
    }

    /// Runs one request under the deadline.
    fn run<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        let left = self
            .image_deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let (timeout, reason) = match left {
            Some(left) if left < self.options.timeout => (
                left,
                format!(
                    "the image's {} s for all its requests ran out",
                    self.options.image_timeout.as_secs_f64()
                ),
            ),
            _ => (
                self.options.timeout,
                format!("no answer within {} s", self.options.timeout.as_secs_f64()),
            ),
        };
        self.runtime.block_on(async {
            tokio::time::timeout(timeout, request)
                .await
                .unwrap_or_else(|_| {
                    Err(FetchError::Unavailable {
                        what: what.to_owned(),
                        reason,
                    })
                })
        })
    }

    /// Writes a blob to `repository`.
    pub fn put_blob(&mut self, repository: &Reference, bytes: &[u8]) -> Result<String, FetchError> {
        let digest = super::sha256_digest(bytes);
        let what = format!("blob {digest}");
        let (client, _) = self.client(repository);
        self.run(&what, async {
            client
                .push_blob(repository, bytes.to_vec(), &digest)
                .await
                .map_err(|e| classify(&what, e))
        })?;
        Ok(digest)
    }

    /// Writes a manifest at `image`'s tag (or digest) and returns its digest.
    pub fn put_manifest(
        &mut self,
        image: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String, FetchError> {
        let what = format!("manifest {}", image.whole());
        let content_type =
            http::HeaderValue::from_str(media_type).map_err(|e| FetchError::Invalid {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        let (client, _) = self.client(image);
        self.run(&what, async {
            client
                .push_manifest_raw(image, bytes.to_vec(), content_type)
                .await
                .map_err(|e| classify(&what, e))
        })?;
        Ok(super::sha256_digest(bytes))
    }
}

/// Credentials for `registry` from the Docker `config.json`, else anonymous.
fn auth_for(registry: &str) -> RegistryAuth {
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            RegistryAuth::Basic(user, password)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => {
            RegistryAuth::Bearer(token)
        }
        Err(_) => RegistryAuth::Anonymous,
    }
}

/// Maps a client error: *not found* moves on to the next source, anything
/// else refuses.
fn classify(what: &str, error: OciDistributionError) -> FetchError {
    let not_found = match &error {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown
                    | OciErrorCode::BlobUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::NotFound
            )
        }),
        _ => false,
    };
    if not_found {
        return FetchError::NotFound(what.to_owned());
    }
    // The underlying cause (connection refused, TLS) is in the source chain.
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    FetchError::Unavailable {
        what: what.to_owned(),
        reason,
    }
}

impl Store for Registry {
    fn start_image(&mut self) {
        self.image_deadline = Some(Instant::now() + self.options.image_timeout);
    }

    fn resolve(&mut self, image: &Reference) -> Result<String, FetchError> {
        if let Some(digest) = image.digest() {
            return Ok(digest.to_owned());
        }
        let what = format!("manifest {}", image.whole());
        let (client, auth) = self.client(image);
        self.run(&what, async {
            client
                .fetch_manifest_digest(image, &auth)
                .await
                .map_err(|e| classify(&what, e))
        })
    }

    fn manifest(&mut self, image: &Reference) -> Result<(Vec<u8>, String), FetchError> {
        let what = format!("manifest {}", image.whole());
        let (client, auth) = self.client(image);
        let (bytes, digest) = self.run(&what, async {
            client
                .pull_manifest_raw(image, &auth, MANIFEST_TYPES)
                .await
                .map_err(|e| classify(&what, e))
        })?;
        within(&what, bytes.len() as u64, limits::MANIFEST_BYTES)?;
        if let Some(expected) = image.digest() {
            check_digest(&what, &bytes, expected)?;
        }
        Ok((bytes.to_vec(), digest))
    }

    fn blob(
        &mut self,
        repository: &Reference,
        descriptor: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let what = format!("blob {}", descriptor.digest);
        within(&what, descriptor.size, max)?;
        let (client, _) = self.client(repository);
        let bytes = self.run(&what, async {
            let mut stream = client
                .pull_blob_stream(repository, descriptor.digest.as_str())
                .await
                .map_err(|e| classify(&what, e))?;
            let mut bytes = Vec::new();
            // The descriptor's size is a claim: the stream is cut at the cap.
            while let Some(chunk) = stream.stream.next().await {
                let chunk = chunk.map_err(|e| FetchError::Unavailable {
                    what: what.clone(),
                    reason: e.to_string(),
                })?;
                within(&what, (bytes.len() + chunk.len()) as u64, max)?;
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })?;
        check_digest(&what, &bytes, &descriptor.digest)?;
        Ok(bytes)
    }

    fn referrers(&mut self, subject: &Reference) -> Result<Option<Vec<Descriptor>>, FetchError> {
        let what = format!("referrers of {}", subject.whole());
        // `pull_referrers` falls back to the referrers tag by itself.
        let (client, auth) = self.client(subject);
        let index: Option<OciImageIndex> = self.run(&what, async {
            // Authenticate first: the referrers call reuses the stored token.
            client
                .store_auth_if_needed(subject.resolve_registry(), &auth)
                .await;
            match client.pull_referrers(subject, None).await {
                Ok(index) => Ok(Some(index)),
                // Its own fallback found an image manifest at the referrers
                // tag: that is the bundle tag, which the caller reads next.
                Err(OciDistributionError::SpecViolationError(_)) => Ok(None),
                Err(e) => Err(classify(&what, e)),
            }
        })?;
        let Some(index) = index else {
            return Ok(None);
        };
        if index.manifests.len() > limits::SIGNATURES {
            return Err(FetchError::TooMany {
                what: "referrers".to_owned(),
                count: index.manifests.len(),
                max: limits::SIGNATURES,
            });
        }
        Ok(Some(
            index
                .manifests
                .into_iter()
                .map(|m| Descriptor {
                    media_type: m.media_type,
                    digest: m.digest,
                    size: u64::try_from(m.size).unwrap_or(u64::MAX),
                    artifact_type: m.artifact_type,
                    annotations: m.annotations.unwrap_or_default().into_iter().collect(),
                })
                .collect(),
        ))
    }
}
