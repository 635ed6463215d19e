//! An OCI registry over the distribution API: anonymous, basic or bearer
//! access (credentials from the Docker configuration), HTTPS, and plain
//! HTTP for loopback registries or ones named insecure. Reads go through
//! [`pull`], which bounds every body as it arrives; writes (the demo's and
//! the tests') through `oci-client`. Every request runs under a deadline,
//! and all of one image's requests under another.

pub mod credentials;
pub mod pull;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;

use super::{
    Descriptor, FetchError, MANIFEST_TYPES, Manifest, Reference, Store, Wanted, check_digest,
    limits, sha256_digest, within,
};
use credentials::Credentials;
use pull::Puller;

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
    /// Send credentials to registries reached over plain HTTP that are not
    /// on this machine (the `--insecure-registry` ones). Off by default.
    pub credentials_over_http: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            timeout: Duration::from_secs(20),
            image_timeout: Duration::from_secs(60),
            credentials_over_http: false,
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
    /// Readers by registry host; a host whose credentials cannot be read
    /// keeps that error.
    pullers: HashMap<String, Result<Arc<Puller>, FetchError>>,
    /// Writers by registry host, with their credentials.
    pushers: HashMap<String, (Client, RegistryAuth)>,
    runtime: tokio::runtime::Runtime,
    options: Options,
    /// When the current image's time is up.
    image_deadline: Option<Instant>,
    /// When the caller's time is up, whatever the image.
    deadline: Option<Instant>,
    /// The current image's prefetched answers, by request.
    prefetched: HashMap<Prefetched, Result<Option<Vec<u8>>, FetchError>>,
}

/// A prefetched request: a manifest or a referrers index, by the reference
/// as written (`registry/repository:tag` or `…@sha256:…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Prefetched {
    Manifest(String),
    Referrers(String),
}

/// Requests one image may prefetch at once, at most: its three signature
/// sources and its three attestation sources, the referrers asked once.
const PREFETCH: usize = 6;

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
        // rustls with ring for every HTTPS client of the process; a provider
        // someone installed first stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FetchError::Unavailable {
                what: "the registry client".to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pullers: HashMap::new(),
            pushers: HashMap::new(),
            runtime,
            options,
            image_deadline: None,
            deadline: None,
            prefetched: HashMap::new(),
        })
    }

    /// Whether `registry` is reached over plain HTTP.
    fn plain(&self, registry: &str) -> bool {
        is_loopback(registry) || self.options.insecure.iter().any(|r| r == registry)
    }

    /// The credentials the Docker configuration holds for `image`'s
    /// registry, as they may be sent: withheld over plain HTTP to a registry
    /// off this machine unless allowed, with the reason why.
    fn credentials(&self, image: &Reference) -> Result<(Credentials, Option<String>), FetchError> {
        let registry = image.registry();
        let found = credentials::lookup(image.resolve_registry())?;
        let allowed = self.options.credentials_over_http;
        if found == Credentials::Anonymous
            || credentials::may_send(self.plain(registry), is_loopback(registry), allowed)
        {
            return Ok((found, None));
        }
        let note = format!(
            "the credentials for {registry} are not sent over plain HTTP; \
             --send-credentials-over-http sends them"
        );
        Ok((Credentials::Anonymous, Some(note)))
    }

    /// The reader for `image`'s registry, its credentials read on first use.
    fn puller(&mut self, image: &Reference) -> Result<Arc<Puller>, FetchError> {
        let registry = image.registry();
        if let Some(known) = self.pullers.get(registry) {
            return known.clone();
        }
        let plain = self.plain(registry);
        let made = self.credentials(image).and_then(|(credentials, withheld)| {
            Puller::new(
                image.resolve_registry(),
                plain,
                credentials,
                withheld,
                self.options.credentials_over_http,
                self.options.timeout,
            )
            .map(Arc::new)
        });
        self.pullers.insert(registry.to_owned(), made.clone());
        made
    }

    /// The writer for `image`'s registry, with a username and password if the
    /// Docker configuration has them and they may be sent, else anonymous;
    /// both made on first use.
    fn pusher(&mut self, image: &Reference) -> Result<(Client, RegistryAuth), FetchError> {
        let registry = image.registry();
        if let Some(known) = self.pushers.get(registry) {
            return Ok(known.clone());
        }
        let auth = match self.credentials(image)?.0 {
            Credentials::Basic { username, password } => RegistryAuth::Basic(username, password),
            _ => RegistryAuth::Anonymous,
        };
        let client = Client::new(ClientConfig {
            protocol: if self.plain(registry) {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            read_timeout: Some(self.options.timeout),
            connect_timeout: Some(self.options.timeout),
            ..ClientConfig::default()
        });
        self.pushers
            .insert(registry.to_owned(), (client.clone(), auth.clone()));
        Ok((client, auth))
    }

    /// Runs one request under the deadline.
    fn run<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        let left = |deadline: Option<Instant>| {
            deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
        };
        let mut timeout = self.options.timeout;
        let mut reason = format!("no answer within {} s", timeout.as_secs_f64());
        if let Some(left) = left(self.image_deadline)
            && left < timeout
        {
            timeout = left;
            reason = format!(
                "the image's {} s for all its requests ran out",
                self.options.image_timeout.as_secs_f64()
            );
        }
        if let Some(left) = left(self.deadline)
            && left < timeout
        {
            timeout = left;
            reason = "the admission request's time budget ran out".to_owned();
        }
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
        let (client, auth) = self.pusher(repository)?;
        self.run(&what, async {
            client
                .store_auth_if_needed(repository.resolve_registry(), &auth)
                .await;
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
        let (client, auth) = self.pusher(image)?;
        self.run(&what, async {
            client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            client
                .push_manifest_raw(image, bytes.to_vec(), content_type)
                .await
                .map_err(|e| classify(&what, e))
        })?;
        Ok(super::sha256_digest(bytes))
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
    FetchError::Unavailable {
        what: what.to_owned(),
        reason: super::with_causes(&error),
    }
}

impl Store for Registry {
    /// `tags/list`, page by page (`n` and `last`), until a page is short or
    /// the registry gives no `Link` to a next one.
    fn tags(&mut self, repository: &Reference) -> Result<Vec<String>, FetchError> {
        let what = format!(
            "tags of {}/{}",
            repository.registry(),
            repository.repository()
        );
        let puller = self.puller(repository)?;
        let mut tags: Vec<String> = Vec::new();
        loop {
            let last = tags.last().cloned();
            let (bytes, more) = self.run(
                &what,
                puller.tags_page(
                    repository.repository(),
                    limits::TAGS_PAGE,
                    last.as_deref(),
                    limits::TAGS_PAGE_BYTES,
                    &what,
                ),
            )?;
            #[derive(serde::Deserialize)]
            struct Page {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: Page = serde_json::from_slice(&bytes).map_err(|e| FetchError::Invalid {
                what: what.clone(),
                reason: e.to_string(),
            })?;
            let page = page.tags.unwrap_or_default();
            let count = page.len();
            let before = tags.len();
            tags.extend(
                page.into_iter()
                    .filter(|t| last.as_deref().is_none_or(|l| t.as_str() > l)),
            );
            if tags.len() > limits::TAGS {
                return Err(FetchError::TooMany {
                    what,
                    count: tags.len(),
                    max: limits::TAGS,
                });
            }
            // A short page, or one that brought nothing new, is the last.
            if !more || count < limits::TAGS_PAGE || tags.len() == before {
                break;
            }
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    fn start_image(&mut self) {
        self.image_deadline = Some(Instant::now() + self.options.image_timeout);
        self.prefetched.clear();
    }

    /// Every wanted request at once, each bounded as it would be alone, all
    /// within the image's and the caller's time. Nothing is kept when that
    /// runs out: the calls then fail on their own, naming what they fetch.
    fn prefetch(&mut self, wanted: &[Wanted]) {
        type Request = std::pin::Pin<
            Box<dyn Future<Output = (Prefetched, Result<Option<Vec<u8>>, FetchError>)> + Send>,
        >;
        let mut requests: Vec<Request> = Vec::new();
        for wanted in wanted {
            if requests.len() == PREFETCH {
                break;
            }
            let (key, image) = match wanted {
                Wanted::Manifest(image) => (Prefetched::Manifest(image.whole()), image),
                Wanted::Referrers(image) => (Prefetched::Referrers(image.whole()), image),
            };
            if self.prefetched.contains_key(&key) {
                continue;
            }
            let Ok(puller) = self.puller(image) else {
                continue;
            };
            let repository = image.repository().to_owned();
            let reference = tag_or_digest(image).to_owned();
            let what = match &key {
                Prefetched::Manifest(whole) => format!("manifest {whole}"),
                Prefetched::Referrers(whole) => format!("referrers of {whole}"),
            };
            let referrers = matches!(key, Prefetched::Referrers(_));
            requests.push(Box::pin(async move {
                let answer = if referrers {
                    puller
                        .referrers(&repository, &reference, limits::MANIFEST_BYTES, &what)
                        .await
                } else {
                    let accept = MANIFEST_TYPES.join(", ");
                    puller
                        .manifest(
                            &repository,
                            &reference,
                            &accept,
                            limits::MANIFEST_BYTES,
                            &what,
                        )
                        .await
                        .map(|body| Some(body.bytes))
                };
                (key, answer)
            }));
        }
        if requests.is_empty() {
            return;
        }
        let answers = self.run("the image's signature sources", async move {
            let mut running = tokio::task::JoinSet::new();
            for request in requests {
                running.spawn(request);
            }
            let mut answers = Vec::new();
            while let Some(joined) = running.join_next().await {
                // A request that panicked is not kept: its call fetches again.
                if let Ok(answer) = joined {
                    answers.push(answer);
                }
            }
            Ok(answers)
        });
        if let Ok(answers) = answers {
            self.prefetched.extend(answers);
        }
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    fn resolve(&mut self, image: &Reference) -> Result<String, FetchError> {
        if let Some(digest) = image.digest() {
            return Ok(digest.to_owned());
        }
        let what = format!("manifest {}", image.whole());
        let puller = self.puller(image)?;
        let (repository, reference) = (image.repository(), tag_or_digest(image));
        let accept = MANIFEST_TYPES.join(", ");
        let named = self.run(
            &what,
            puller.head_digest(repository, reference, &accept, &what),
        )?;
        match named {
            Some(digest) => Ok(digest),
            // No digest header: the manifest itself, hashed.
            None => self.manifest(image).map(|(_, digest)| digest),
        }
    }

    fn manifest(&mut self, image: &Reference) -> Result<(Vec<u8>, String), FetchError> {
        let what = format!("manifest {}", image.whole());
        let bytes = match self.prefetched.get(&Prefetched::Manifest(image.whole())) {
            Some(answer) => answer.clone()?.unwrap_or_default(),
            None => {
                let puller = self.puller(image)?;
                let (repository, reference) = (image.repository(), tag_or_digest(image));
                let accept = MANIFEST_TYPES.join(", ");
                self.run(
                    &what,
                    puller.manifest(
                        repository,
                        reference,
                        &accept,
                        limits::MANIFEST_BYTES,
                        &what,
                    ),
                )?
                .bytes
            }
        };
        // The digest is the bytes' own; one asked for by digest must match.
        let digest = sha256_digest(&bytes);
        if let Some(expected) = image.digest() {
            check_digest(&what, &bytes, expected)?;
        }
        Ok((bytes, digest))
    }

    fn blob(
        &mut self,
        repository: &Reference,
        descriptor: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let what = format!("blob {}", descriptor.digest);
        within(&what, descriptor.size, max)?;
        let puller = self.puller(repository)?;
        let bytes = self.run(
            &what,
            puller.blob(repository.repository(), &descriptor.digest, max, &what),
        )?;
        check_digest(&what, &bytes, &descriptor.digest)?;
        Ok(bytes)
    }

    fn referrers(&mut self, subject: &Reference) -> Result<Option<Vec<Descriptor>>, FetchError> {
        let what = format!("referrers of {}", subject.whole());
        let digest = subject.digest().unwrap_or_default().to_owned();
        let answer = match self.prefetched.get(&Prefetched::Referrers(subject.whole())) {
            Some(answer) => answer.clone()?,
            None => {
                let puller = self.puller(subject)?;
                self.run(
                    &what,
                    puller.referrers(subject.repository(), &digest, limits::MANIFEST_BYTES, &what),
                )?
            }
        };
        let Some(bytes) = answer else {
            return Ok(None);
        };
        let index = Manifest::parse(&bytes, "the referrers index")?;
        Ok(Some(index.manifests))
    }
}

/// The tag or digest a manifest request names.
fn tag_or_digest(image: &Reference) -> &str {
    image.digest().or(image.tag()).unwrap_or("latest")
}
