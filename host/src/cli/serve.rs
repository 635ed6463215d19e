//! `sigward serve`: the admission webhook (see `sigward_host::admission`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sigward_host::Runtime;
use sigward_host::admission::cache::Bounds;
use sigward_host::admission::judge::Source;
use sigward_host::admission::server::{self, Config};
use sigward_host::oci::registry;

use super::{Exit, fail, limits};

#[derive(clap::Args)]
pub struct Args {
    /// The policy file (a Talos ImageVerificationConfig, YAML or JSON).
    #[arg(long)]
    policy: PathBuf,
    /// The trusted_root.json to verify against (else $SIGWARD_TRUSTED_ROOT,
    /// else $XDG_CONFIG_HOME/sigward/trusted_root.json, else the TUF
    /// cache that `sigward trust update` keeps).
    #[arg(long)]
    trusted_root: Option<PathBuf>,
    /// Never update the TUF cache over the network: a trusted root from it
    /// must be current, or the command fails saying so.
    #[arg(long)]
    offline: bool,
    /// The server's certificate chain, PEM. Re-read when it changes.
    #[arg(long)]
    tls_cert: PathBuf,
    /// The server's private key, PEM. Re-read when it changes.
    #[arg(long)]
    tls_key: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// Read images and signatures from this OCI image layout, not a registry.
    #[arg(long)]
    oci_layout: Option<PathBuf>,
    /// A registry (`host[:port]`) to reach over plain HTTP. Loopback
    /// registries always are. Repeatable.
    #[arg(long = "insecure-registry")]
    insecure_registries: Vec<String>,
    /// Send Docker credentials to `--insecure-registry` registries too.
    #[arg(long)]
    send_credentials_over_http: bool,
    /// Seconds to wait for each registry request; the apiserver's
    /// `?timeout=` bounds each review as a whole.
    #[arg(long, default_value_t = 8)]
    timeout: u64,
    /// Never pin images in `/mutate`: it then answers as `/validate` does.
    #[arg(long)]
    validate_only: bool,
    /// Verified decisions kept in the cache.
    #[arg(long, default_value_t = 10_000)]
    cache_entries: usize,
    /// Seconds a verified decision stays in the cache.
    #[arg(long, default_value_t = 300)]
    cache_ttl: u64,
    /// Seconds between checks of the policy, trusted-root and certificate
    /// files for changes (SIGHUP reloads at once).
    #[arg(long, default_value_t = 2)]
    watch_interval: u64,
    /// Record every admitted image (namespace, owner workload) and its
    /// verified SBOM's packages in this inventory store: a SQLite file or a
    /// `postgres://` URL. Written off the request path; a store that is
    /// down never changes a decision.
    #[arg(long = "db")]
    db: Option<String>,
    /// The cluster name admitted images are recorded under.
    #[arg(long, default_value = "default", requires = "db")]
    cluster: String,
    /// OSV advisories (JSON files, directories of them, osv.dev `all.zip`
    /// archives) for rules that gate on advisories, read again when they
    /// change. Without it such rules read the `--db` store's advisories.
    /// Repeatable.
    #[arg(long = "advisories")]
    advisories: Vec<PathBuf>,
}

pub fn run(args: &Args) -> Exit {
    let trusted_root = match super::trusted_root_path(args.trusted_root.as_deref(), args.offline) {
        Ok(path) => path,
        Err(e) => return fail(e),
    };
    let limits = match limits() {
        Ok(limits) => limits,
        Err(e) => return fail(e),
    };
    let source = match &args.oci_layout {
        Some(dir) => Source::Layout(dir.clone()),
        None => Source::Registry(registry::Options {
            insecure: args.insecure_registries.clone(),
            timeout: Duration::from_secs(args.timeout),
            image_timeout: Duration::from_secs(30),
            credentials_over_http: args.send_credentials_over_http,
        }),
    };
    let config = Config {
        listen: args.listen,
        policy: args.policy.clone(),
        trusted_root,
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        source,
        validate_only: args.validate_only,
        cache: Bounds {
            entries: args.cache_entries,
            ttl: Duration::from_secs(args.cache_ttl),
        },
        poll: Duration::from_secs(args.watch_interval.max(1)),
        limits,
        cache_dir: Runtime::default_cache_dir(),
        inventory: args.db.clone(),
        cluster: args.cluster.clone(),
        advisories: args.advisories.clone(),
    };
    match server::serve(config) {
        Ok(()) => Exit::Ok,
        Err(e) => fail(e),
    }
}
