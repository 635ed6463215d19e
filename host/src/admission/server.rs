//! `sigward serve`: the HTTPS server kube-apiserver calls. Requests are
//! served in parallel; each review is judged on a blocking thread (the
//! component and the registry client are synchronous), at most
//! [`CONCURRENT_REVIEWS`] at once, so memory stays bounded under load.
//!
//! Routes: `POST /validate`, `POST /mutate`, `GET /healthz`, `GET /readyz`,
//! `GET /metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::sync::Semaphore;

use super::cache::Bounds;
use super::exposure::Exposure;
use super::judge::{Source, Stores, judge};
use super::metrics::Metrics;
use super::pool::Loaded;
use super::review::{self, Review};
use super::verdict::{self, Mode};
use super::{reload, tls, workload};
use crate::Runtime;
use crate::advisories::{Held, Refreshed};
use crate::inventory::recorder::{Recorder, SbomOf};
use crate::inventory::{Place, Sighting};
use sigward_core::admission::verdict::Verdict as CoreVerdict;

/// kube-apiserver's own cap on a request body.
pub const MAX_BODY_BYTES: u64 = 3 * 1024 * 1024;

/// Reviews judged at once; more wait for a turn, within their deadline.
pub const CONCURRENT_REVIEWS: usize = 16;

/// kube-apiserver's default `timeoutSeconds`, when a request names none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most `timeoutSeconds` allows.
const MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// How long open connections may finish their reviews after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

/// What `sigward serve` was asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub policy: PathBuf,
    pub trusted_root: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub source: Source,
    /// No digest pinning in `/mutate`: it answers as `/validate`.
    pub validate_only: bool,
    pub cache: Bounds,
    /// How often the policy, trusted root and certificate files are checked
    /// for changes.
    pub poll: Duration,
    /// The guest's limits, and where compiled code is cached.
    pub limits: crate::Limits,
    pub cache_dir: Option<PathBuf>,
    /// The inventory store admitted images are recorded in, if any, and
    /// the cluster name they are recorded under.
    pub inventory: Option<String>,
    pub cluster: String,
    /// OSV files, directories or archives that rules gating on advisories
    /// read; none means the inventory store's, when there is one.
    pub advisories: Vec<PathBuf>,
}

/// Everything the requests share.
pub struct State {
    pub config: Config,
    pub runtime: OnceLock<Arc<Runtime>>,
    /// The policy and trusted root in force; `None` until the first load.
    pub loaded: RwLock<Option<Arc<Loaded>>>,
    pub stores: Stores,
    pub metrics: Metrics,
    pub tls: RwLock<Arc<rustls::ServerConfig>>,
    /// Records admitted images off the request path (`--db`).
    pub recorder: OnceLock<Recorder>,
    /// The advisories rules that gate on them read (`--advisories`, else
    /// the `--db` store's), and which admitted images they affect.
    pub held: Option<Held>,
    pub exposure: Exposure,
    turns: Semaphore,
}

impl State {
    fn loaded(&self) -> Option<Arc<Loaded>> {
        self.loaded.read().ok().and_then(|l| l.clone())
    }
}

type Answer = Response<Full<Bytes>>;

fn text(status: StatusCode, body: impl Into<String>) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json(body: Vec<u8>) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Parses a Go duration as kube-apiserver writes `?timeout=` (`10s`,
/// `1m0s`, `500ms`).
pub fn go_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(number * seconds).ok()?;
    }
    Some(total)
}

/// The time a review may take: the apiserver's timeout, less a margin for
/// the answer to travel back, so that a slow registry gives sigward's
/// refusal rather than the apiserver's timeout.
pub fn budget(query: Option<&str>) -> Duration {
    let timeout = query
        .into_iter()
        .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
        .find(|(name, _)| name == "timeout")
        .and_then(|(_, value)| go_duration(&value))
        .unwrap_or(DEFAULT_TIMEOUT)
        .min(MAX_TIMEOUT);
    let margin = (timeout / 5).min(Duration::from_secs(1));
    timeout - margin
}

async fn route(state: Arc<State>, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().to_owned();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => match state.loaded() {
            Some(loaded) => text(
                StatusCode::OK,
                format!(
                    "ready: policy sha256:{} trusted root sha256:{}\n",
                    loaded.policy_sha256, loaded.root_sha256
                ),
            ),
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the component or the policy is still loading\n",
            ),
        },
        (&Method::GET, "/metrics") => {
            let mut body = state.metrics.render();
            if let Some(recorder) = state.recorder.get() {
                body.push_str(&recorder.status.render());
            }
            if let Some(held) = &state.held {
                state.exposure.render(held, &mut body);
            }
            let mut response = text(StatusCode::OK, body);
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        (&Method::POST, "/validate") => review(state, request, Mode::Validate, "validate").await,
        (&Method::POST, "/mutate") => {
            let mode = if state.config.validate_only {
                Mode::Validate
            } else {
                Mode::Pin
            };
            review(state, request, mode, "mutate").await
        }
        (_, "/healthz" | "/readyz" | "/metrics" | "/validate" | "/mutate") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

async fn review(
    state: Arc<State>,
    request: Request<Incoming>,
    mode: Mode,
    endpoint: &'static str,
) -> Answer {
    let received = Instant::now();
    let deadline = received + budget(request.uri().query());
    let count = |outcome: &str| {
        state
            .metrics
            .requests
            .inc(format!("endpoint=\"{endpoint}\",outcome=\"{outcome}\""));
    };
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        count("error");
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY_BYTES} bytes\n"),
        );
    }
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES as usize)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            count("error");
            let status = if e.is::<http_body_util::LengthLimitError>() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return text(status, format!("cannot read the body: {e}\n"));
        }
    };
    let Some(loaded) = state.loaded() else {
        count("error");
        return text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n");
    };
    let turn = tokio::time::timeout_at(deadline.into(), state.turns.acquire()).await;
    let worker = state.clone();
    let judged = match turn {
        // The semaphore is never closed: a turn is a permit, or the deadline.
        Ok(Ok(turn)) => {
            let judged =
                tokio::task::spawn_blocking(move || admit(&worker, &loaded, &body, mode, deadline))
                    .await;
            drop(turn);
            judged
        }
        // No turn in time: refused in sigward's words rather than left to
        // the apiserver's timeout.
        _ => tokio::task::spawn_blocking(move || busy(&body)).await,
    };
    state.metrics.request_time.observe(received.elapsed());
    match judged {
        Ok(Ok((allowed, body))) => {
            count(if allowed { "allowed" } else { "refused" });
            json(body)
        }
        Ok(Err(bad)) => {
            count("error");
            text(StatusCode::BAD_REQUEST, format!("{bad}\n"))
        }
        Err(e) => {
            count("error");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the review stopped: {e}\n"),
            )
        }
    }
}

/// The refusal of a review that got no turn before its deadline.
fn busy(body: &[u8]) -> Result<(bool, Vec<u8>), review::BadReview> {
    let review = review::parse(body)?;
    let verdict = review::Verdict::from(CoreVerdict {
        message: format!(
            "sigward had no free turn to judge this object before its deadline \
             ({CONCURRENT_REVIEWS} reviews were being judged)"
        ),
        ..CoreVerdict::default()
    });
    let body = serde_json::to_vec(&review::respond(&review, &verdict)).unwrap_or_default();
    Ok((false, body))
}

/// Judges one review: `(allowed, response body)`, or why the body is not a
/// review.
fn admit(
    state: &State,
    loaded: &Loaded,
    body: &[u8],
    mode: Mode,
    deadline: Instant,
) -> Result<(bool, Vec<u8>), review::BadReview> {
    let review = review::parse(body)?;
    let verdict = verdict_for(state, loaded, &review, mode, deadline);
    if !verdict.decided.allowed {
        let r = &review.request;
        eprintln!(
            "sigward serve: refused {} {}/{} (uid {}): {}",
            r.kind.kind, r.namespace, r.name, r.uid, verdict.decided.message
        );
    }
    let body = serde_json::to_vec(&review::respond(&review, &verdict)).unwrap_or_default();
    Ok((verdict.decided.allowed, body))
}

fn verdict_for(
    state: &State,
    loaded: &Loaded,
    review: &Review,
    mode: Mode,
    deadline: Instant,
) -> review::Verdict {
    let request = &review.request;
    let sites = match workload::images(&request.kind.kind, &request.object) {
        Ok(sites) => sites,
        Err(malformed) => return verdict::malformed(&malformed.to_string()),
    };
    let images: Vec<&str> = sites.iter().map(|s| s.image.as_str()).collect();
    let held = state.held.as_ref();
    let answers = judge(
        loaded,
        &state.stores,
        &state.metrics,
        held,
        &images,
        deadline,
    );
    let verdict = verdict::verdict(&sites, &answers, mode);
    if let Some(held) = held {
        for answer in answers.values() {
            if let (Some(packages), Ok(decision)) = (&answer.sbom, &answer.decision)
                && decision.allowed
            {
                state
                    .exposure
                    .observe(held, &decision.reference, packages.clone());
            }
        }
    }
    if verdict.decided.allowed
        && request.dry_run != Some(true)
        && let Some(recorder) = state.recorder.get()
    {
        let place = place_of(&state.config.cluster, request);
        let now = crate::tuf::now();
        let mut sightings: Vec<Sighting> = answers
            .values()
            .filter_map(|a| Sighting::of_answer(a, Some(place.clone()), now))
            .collect();
        sightings.sort_by(|a, b| (&a.repository, &a.digest).cmp(&(&b.repository, &b.digest)));
        if !sightings.is_empty() {
            recorder.offer(sightings);
        }
    }
    verdict
}

/// Where a reviewed object runs: its namespace, and its controller (a
/// Pod's ReplicaSet, Job, ...) when it names one, else the object itself.
fn place_of(cluster: &str, request: &sigward_core::admission::request::Request) -> Place {
    let metadata = request.object.get("metadata");
    let owner = metadata
        .and_then(|m| m.get("ownerReferences"))
        .and_then(serde_json::Value::as_array)
        .and_then(|owners| {
            owners
                .iter()
                .find(|o| o.get("controller").and_then(serde_json::Value::as_bool) == Some(true))
        });
    let text = |v: Option<&serde_json::Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, name) = match owner {
        Some(o) => (text(Some(o), "kind"), text(Some(o), "name")),
        None => {
            let name = match text(metadata, "name") {
                n if n.is_empty() && !request.name.is_empty() => request.name.clone(),
                n if n.is_empty() => text(metadata, "generateName"),
                n => n,
            };
            (request.kind.kind.clone(), name)
        }
    };
    Place {
        cluster: cluster.to_owned(),
        namespace: request.namespace.clone(),
        kind,
        name,
    }
}

/// Runs the server until SIGTERM or SIGINT, then lets open connections
/// finish for up to [`DRAIN`]. Returns an error when it cannot
/// start: the certificate, the address, or the first policy.
pub fn serve(config: Config) -> Result<(), String> {
    let tls = tls::load(&config.tls_cert, &config.tls_key)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    let held = if !config.advisories.is_empty() {
        let (held, skipped) = Held::files(config.advisories.clone())?;
        eprintln!(
            "sigward serve: advisories: {} held from {} ({} withdrawn left out, {} malformed skipped)",
            held.count(),
            held.describe(),
            skipped.withdrawn,
            skipped.malformed.len()
        );
        Some(held)
    } else {
        config.inventory.clone().map(Held::store)
    };
    let state = Arc::new(State {
        held,
        exposure: Exposure::default(),
        stores: Stores::new(config.source.clone()),
        config,
        runtime: OnceLock::new(),
        loaded: RwLock::new(None),
        metrics: Metrics::default(),
        tls: RwLock::new(tls),
        recorder: OnceLock::new(),
        turns: Semaphore::new(CONCURRENT_REVIEWS),
    });
    if let Some(url) = state.config.inventory.clone() {
        // The recorder thread holds the state weakly: it ends with it.
        let weak = Arc::downgrade(&state);
        let sbom_of: SbomOf = Box::new(move |sighting: &Sighting| {
            let state = weak.upgrade()?;
            let loaded = state.loaded()?;
            let digested = format!("{}@{}", sighting.repository, sighting.digest);
            let sbom = super::judge::verified_sbom(&loaded, &state.stores, &digested)?;
            if let Some(held) = &state.held {
                state
                    .exposure
                    .observe(held, &digested, sbom.1.clone().into());
            }
            Some(sbom)
        });
        let recorder = Recorder::start(url, sbom_of);
        let _ = state.recorder.set(recorder);
    }
    if state.held.is_some() {
        let weak = Arc::downgrade(&state);
        let poll = state.config.poll;
        std::thread::Builder::new()
            .name("sigward-advisories".into())
            .spawn(move || watch_advisories(&weak, poll))
            .map_err(|e| format!("cannot start the advisories thread: {e}"))?;
    }
    runtime.block_on(run(state))
}

/// Reads the advisories again when they change, every `poll`, until the
/// server ends; then counts the admitted images they affect again.
fn watch_advisories(state: &std::sync::Weak<State>, poll: Duration) {
    let mut first = true;
    loop {
        let Some(state) = state.upgrade() else { return };
        let Some(held) = &state.held else { return };
        let outcome = match held.refresh() {
            Ok(Refreshed::Unchanged) => None,
            Ok(Refreshed::Changed(count)) => {
                eprintln!(
                    "sigward serve: advisories: {count} held from {}",
                    held.describe()
                );
                state.exposure.recount(held);
                (!first).then_some("ok")
            }
            Err(e) => {
                eprintln!("sigward serve: advisories not read again: {e}");
                Some("failed")
            }
        };
        if let Some(outcome) = outcome {
            state
                .metrics
                .reloads
                .inc(format!("what=\"advisories\",outcome=\"{outcome}\""));
        }
        first = false;
        drop(state);
        std::thread::sleep(poll);
    }
}

async fn run(state: Arc<State>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(state.config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", state.config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("sigward serve: listening on https://{address}");
    // Compile the component and load the policy while already answering
    // /healthz; /readyz says when it is done.
    let starter = state.clone();
    let first = tokio::task::spawn_blocking(move || reload::start(&starter));
    tokio::spawn(reload::watch(state.clone()));
    let mut first = Some(first);
    let graceful = GracefulShutdown::new();
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                tokio::spawn(connection(state.clone(), stream, graceful.watcher()));
            }
            started = async { first.as_mut()?.await.ok() }, if first.is_some() => {
                first = None;
                if let Some(Err(e)) = started {
                    return Err(e);
                }
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    // Kubernetes may still route reviews here for a moment: the open
    // connections finish theirs, then close.
    eprintln!("sigward serve: stopping; open connections finish their reviews");
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, String> {
    tokio::signal::unix::signal(kind).map_err(|e| format!("cannot handle signals: {e}"))
}

/// One TLS connection: a handshake under a deadline, then HTTP/1.1 with
/// keep-alive, as kube-apiserver reuses connections.
async fn connection(state: Arc<State>, stream: tokio::net::TcpStream, watcher: Watcher) {
    let config = match state.tls.read() {
        Ok(config) => config.clone(),
        Err(_) => return,
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let Ok(Ok(stream)) =
        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
    else {
        return;
    };
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(route(state, request).await) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    let _ = watcher.watch(served).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(go_duration("1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(go_duration("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["", "10", "s", "10x", "-1s"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_budget_leaves_a_margin() {
        assert_eq!(budget(Some("timeout=10s")), Duration::from_secs(9));
        assert_eq!(budget(Some("timeout=2s")), Duration::from_millis(1600));
        assert_eq!(budget(None), Duration::from_secs(9));
        assert_eq!(budget(Some("timeout=5m0s")), Duration::from_secs(29));
        assert_eq!(budget(Some("timeout=bogus")), Duration::from_secs(9));
    }
}
