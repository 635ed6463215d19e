//! `just bench`: one run that measures sigward and its peers on the same
//! inputs and writes `BENCHMARKS.md`. Medians with the 10th-90th percentile
//! spread; nothing here is asserted, the figures are for reading.
//!
//! Arguments: `--python PYTHON` (with the `sigstore` package), `--js SCRIPT`
//! (bench/peers/sigstore_js.mjs beside its node_modules), `--out FILE`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sigward_core::verify::{self as core_verify, bundle as core_bundle};
use sigward_host::oci::layout::Layout;
use sigward_host::runtime::{Artifact, KeylessIdentity, LegacySignature, Signature, Signer};
use sigward_host::{Limits, Runtime};

#[path = "../../tests/apiserver.rs"]
mod apiserver;
#[path = "../../tests/corpus.rs"]
mod corpus;
#[path = "inventory_scale.rs"]
mod inventory_scale;
#[path = "../../tests/kubewarden_host.rs"]
mod kubewarden_host;
#[path = "../../tests/postgres_server.rs"]
mod postgres_server;
#[path = "../../tests/registry_server.rs"]
#[allow(dead_code)]
mod registry_server;

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

/// Median and spread of one measurement.
#[derive(Clone, Copy)]
struct Stat {
    median: Duration,
    p10: Duration,
    p90: Duration,
    n: usize,
}

impl Stat {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            n: samples.len(),
        }
    }

    fn from_us(median: f64, p10: f64, p90: f64, n: usize) -> Self {
        let d = |us: f64| Duration::from_secs_f64(us / 1e6);
        Self {
            median: d(median),
            p10: d(p10),
            p90: d(p90),
            n,
        }
    }

    fn cell(&self) -> String {
        format!(
            "{} ({}–{}, n={})",
            fmt(self.median),
            fmt(self.p10),
            fmt(self.p90),
            self.n
        )
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1.0 {
        format!("{:.0} ns", us * 1000.0)
    } else if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn time(runs: usize, mut f: impl FnMut()) -> Stat {
    Stat::of(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn shared() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    assert!(
        dir.join("SPEC.md").is_file(),
        "the benchmark needs ../shared"
    );
    dir
}

/// One verification case, as sigward and the peers are given it.
struct Case {
    name: &'static str,
    bundle: PathBuf,
    root: PathBuf,
    /// Keyless identity, or a key file.
    key: Option<PathBuf>,
}

fn cases() -> Vec<Case> {
    let s = shared();
    let dir = |case: &str| s.join("conformance/bundle-verify").join(case);
    let production = s.join("corpus/root-signing/targets/trusted_root.json");
    vec![
        Case {
            name: "happy-path-v0.3",
            bundle: dir("happy-path-v0.3").join("bundle.sigstore.json"),
            root: production.clone(),
            key: None,
        },
        Case {
            name: "rekor2-happy-path",
            bundle: dir("rekor2-happy-path").join("bundle.sigstore.json"),
            root: dir("rekor2-happy-path").join("trusted_root.json"),
            key: None,
        },
        Case {
            name: "managed-key-happy-path",
            bundle: dir("managed-key-happy-path").join("bundle.sigstore.json"),
            root: production,
            key: Some(dir("managed-key-happy-path").join("key.pub")),
        },
    ]
}

struct Report {
    text: String,
    /// (target, measured, met)
    targets: Vec<(String, String, bool)>,
}

impl Report {
    fn section(&mut self, title: &str, intro: &str) {
        println!("\n== {title}");
        let _ = write!(self.text, "\n## {title}\n\n{intro}\n\n");
    }

    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let _ = writeln!(self.text, "| {} |", header.join(" | "));
        let _ = writeln!(
            self.text,
            "|{}|",
            header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        );
        for row in rows {
            println!("  {}", row.join("  "));
            let _ = writeln!(self.text, "| {} |", row.join(" | "));
        }
    }

    fn target(&mut self, target: &str, measured: String, met: bool) {
        self.targets.push((target.to_owned(), measured, met));
    }
}

/// sigward's own verification, in the component (warm instance, root loaded
/// once) and natively in the core.
fn verification(runtime: &Runtime, policy: &str, report: &mut Report) -> Vec<(String, Stat, Stat)> {
    let artifact = std::fs::read(shared().join("conformance/bundle-verify/a.txt")).unwrap();
    let mut out = Vec::new();
    for case in cases() {
        let root_json = std::fs::read(&case.root).unwrap();
        let bundle = std::fs::read(&case.bundle).unwrap();
        let mut session = runtime.load_policy(policy).unwrap().unwrap();
        let root = session.load_trusted_root(&root_json).unwrap().unwrap();
        let key_pem = case
            .key
            .as_ref()
            .map(|k| std::fs::read_to_string(k).unwrap());
        let signer = match &key_pem {
            Some(pem) => Signer::PublicKey(pem.clone()),
            None => Signer::Keyless(KeylessIdentity {
                issuer: ACTIONS.into(),
                subject: Some(BEACON.into()),
                subject_regex: None,
            }),
        };
        let input = Artifact::Bytes(artifact.clone());
        let mut once = || {
            session
                .verify_bundle(&bundle, &input, &signer, &root)
                .unwrap()
                .unwrap()
        };
        once();
        let component = time(200, || drop(once()));

        let core_root = sigward_core::TrustedRoot::parse(&root_json).unwrap();
        let identity =
            sigward_core::policy::KeylessIdentity::new(ACTIONS.into(), Some(BEACON.into()), None)
                .unwrap();
        let key = key_pem
            .as_ref()
            .map(|pem| sigward_core::public_key::PublicKey::from_pem(pem).unwrap());
        let core_signer = match &key {
            Some(key) => core_bundle::Signer::Key(key, core_bundle::KeyLog::Required),
            None => core_bundle::Signer::Keyless(&identity),
        };
        let native = time(200, || {
            core_bundle::verify_json(
                &bundle,
                core_bundle::Artifact::Bytes(&artifact),
                core_signer,
                &core_root,
                &mut Vec::new(),
            )
            .unwrap()
        });
        out.push((case.name.to_owned(), component, native));
    }

    // The real legacy keyless signature of the containers-image corpus,
    // through a policy as `sigward verify` runs it.
    let fixtures = corpus::containers_image_fixtures();
    let dir = fixtures.join("dir-img-cosign-fulcio-rekor-valid");
    let stored = corpus::stored_signature(&dir.join("signature-1"));
    assert_eq!(stored.media_type, sigward_host::oci::SIMPLE_SIGNING);
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let image = format!(
        "mirror.example/app@{}",
        sigward_host::oci::sha256_digest(&manifest)
    );
    let legacy_policy = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: mirror.example/*\n    keyless:\n      issuer: https://github.com/login/oauth\n      subject: mitr@redhat.com\n";
    let root_json =
        std::fs::read(shared().join("corpus/root-signing/targets/trusted_root.json")).unwrap();
    let mut session = runtime.load_policy(legacy_policy).unwrap().unwrap();
    let root = session.load_trusted_root(&root_json).unwrap().unwrap();
    let signatures = [Signature::Legacy(LegacySignature {
        payload: sigward_host::runtime::document(stored.payload.clone()),
        annotations: stored.annotations.clone(),
    })];
    let mut once = || {
        let d = session.verify(&image, &signatures, &root).unwrap().unwrap();
        assert!(d.allowed, "{}", d.message);
    };
    once();
    let component = time(200, once);
    let core_policy = sigward_core::Policy::parse(legacy_policy).unwrap();
    let core_root = sigward_core::TrustedRoot::parse(&root_json).unwrap();
    let core_signatures = [core_verify::Signature::Legacy {
        payload: stored.payload,
        annotations: stored.annotations,
    }];
    let native = time(200, || {
        let d = core_verify::verify(&core_policy, &image, &core_signatures, &core_root).unwrap();
        assert!(d.allowed);
    });
    out.push((
        "legacy keyless .sig (containers-image)".to_owned(),
        component,
        native,
    ));

    report.section(
        "1. Full offline verification",
        "Warm: the instance, the policy and the trusted root are loaded once; each sample is one \
         whole verification (bundle parsing, log entry, SET, inclusion proof and checkpoint or \
         timestamp, certificate path, SCT, identity, signature). *Component* runs through \
         wasmtime; *native* runs the same core crate compiled for the host.",
    );
    let rows: Vec<Vec<String>> = out
        .iter()
        .map(|(name, c, n)| {
            vec![
                name.clone(),
                c.cell(),
                n.cell(),
                format!("{:.1}×", c.median.as_secs_f64() / n.median.as_secs_f64()),
            ]
        })
        .collect();
    report.table(&["case", "component", "native", "component/native"], &rows);
    out
}

/// The peers, each in its own process, timing in-process loops.
/// The job every in-process timer gets on stdin: the cases, their files.
fn peer_job() -> Value {
    let artifact = shared().join("conformance/bundle-verify/a.txt");
    json!({
        "iterations": 200,
        "cases": cases().iter().map(|c| json!({
            "name": c.name,
            "bundle": c.bundle,
            "artifact": artifact,
            "trusted_root": c.root,
            "identity": if c.key.is_some() { Value::Null } else { json!({"subject": BEACON, "issuer": ACTIONS}) },
            "key": c.key,
        })).collect::<Vec<_>>(),
    })
}

/// Runs one timer (`program script` with the job on stdin): each line it
/// prints is a measure's name and its statistics, or the error it met.
fn run_timer(program: &str, script: &Path, job: &Value) -> Vec<(String, Result<Stat, String>)> {
    let mut child = Command::new(program)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {}: {}",
        script.display(),
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let name = v["name"].as_str().unwrap_or_default().to_owned();
            let stat = match v["error"].as_str() {
                Some(e) => Err(e.to_owned()),
                None => Ok(Stat::from_us(
                    v["median_us"].as_f64().unwrap(),
                    v["p10_us"].as_f64().unwrap(),
                    v["p90_us"].as_f64().unwrap(),
                    v["n"].as_u64().unwrap() as usize,
                )),
            };
            (name, stat)
        })
        .collect()
}

fn bench_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The peers' medians on each case, for the packages' section.
type PeerResults = Vec<(String, String, Result<Stat, String>)>;

fn peers(
    python: Option<&str>,
    js: Option<&str>,
    ours: &[(String, Stat, Stat)],
    report: &mut Report,
) -> PeerResults {
    let job = peer_job();
    let mut results: PeerResults = Vec::new();
    for (peer, program, script) in [
        (
            "sigstore-python 4.5.1",
            python,
            bench_file("bench/peers/sigstore_python.py"),
        ),
        (
            "sigstore-js (@sigstore/verify 4.1.3)",
            js.map(|_| "node"),
            PathBuf::from(js.unwrap_or_default()),
        ),
    ] {
        let Some(program) = program else {
            results.push((
                peer.to_owned(),
                "*".to_owned(),
                Err("not installed".to_owned()),
            ));
            continue;
        };
        for (name, stat) in run_timer(program, &script, &job) {
            results.push((peer.to_owned(), name, stat));
        }
    }
    report.section(
        "2. The peers, same bundles, same run",
        "Each peer verifies the same bundle, artifact, identity and trusted root in an \
         in-process loop (`bench/peers/`): sigstore-python's `Verifier.verify_artifact` (OpenSSL \
         underneath, through `cryptography`) and sigstore-js's `Verifier.verify` (Node's crypto). \
         The ratio is sigward's median over the peer's: below 1 is faster than the peer. \
         Neither peer verifies legacy cosign signatures.",
    );
    let mut rows = Vec::new();
    for (peer, name, stat) in &results {
        let mine = ours.iter().find(|(n, _, _)| n == name);
        match (stat, mine) {
            (Ok(s), Some((_, c, n))) => {
                let ratio = |x: &Stat| x.median.as_secs_f64() / s.median.as_secs_f64();
                rows.push(vec![
                    name.clone(),
                    peer.clone(),
                    s.cell(),
                    format!("{:.2}", ratio(c)),
                    format!("{:.2}", ratio(n)),
                ]);
                if name == "happy-path-v0.3" && peer.starts_with("sigstore-python") {
                    report.target(
                        "happy-path-v0.3 in the component ≤ 1.0× sigstore-python",
                        format!("{:.2}× ({} vs {})", ratio(c), fmt(c.median), fmt(s.median)),
                        ratio(c) <= 1.0,
                    );
                }
                if name == "happy-path-v0.3" && peer.starts_with("sigstore-js") {
                    report.target(
                        "happy-path-v0.3 in the component ≥ 5× faster than sigstore-js",
                        format!(
                            "{:.1}× faster ({} vs {})",
                            1.0 / ratio(c),
                            fmt(c.median),
                            fmt(s.median)
                        ),
                        ratio(c) <= 0.2,
                    );
                }
            }
            (Err(e), _) => rows.push(vec![
                name.clone(),
                peer.clone(),
                format!("n/a: {e}"),
                "–".into(),
                "–".into(),
            ]),
            (Ok(s), None) => rows.push(vec![
                name.clone(),
                peer.clone(),
                s.cell(),
                "–".into(),
                "–".into(),
            ]),
        }
    }
    report.table(
        &[
            "case",
            "peer",
            "peer time",
            "sigward component / peer",
            "sigward native / peer",
        ],
        &rows,
    );
    results
}

/// The Python and Node packages, timed in-process as the peers are, on the
/// same cases in the same run; then one call across each one's boundary.
fn packages(python: Option<&str>, peers: &PeerResults, report: &mut Report) {
    report.section(
        "2b. The packages, same bundles, same run",
        "sigward's Python package (`python/`: the fast component on wasmtime-py 50.0.1, values \
         written and read by `sigward._abi`) and Node package (`js/`: the portable component \
         transpiled by jco 1.35.0, on Node's V8) verify the same bundles in-process \
         (`bench/packages/`), each against the peer of its language: the ratio is the \
         package's median over the peer's.",
    );
    let job = peer_job();
    let node_built = bench_file("js/generated/sigward.js").exists();
    let mut measured = Vec::new();
    for (package, program, script, peer) in [
        (
            "Python package",
            python,
            bench_file("bench/packages/sigward_python.py"),
            "sigstore-python",
        ),
        (
            "Node package",
            node_built.then_some("node"),
            bench_file("bench/packages/sigward_js.mjs"),
            "sigstore-js",
        ),
    ] {
        let Some(program) = program else {
            measured.push((package, peer, "*".to_owned(), Err("not built".to_owned())));
            continue;
        };
        for (name, stat) in run_timer(program, &script, &job) {
            measured.push((package, peer, name, stat));
        }
    }
    let mut rows = Vec::new();
    let mut calls = Vec::new();
    for (package, peer, name, stat) in &measured {
        let theirs = peers
            .iter()
            .find(|(p, n, _)| p.starts_with(peer) && n == name);
        match (stat, theirs) {
            (Ok(s), _) if name.starts_with("call:") || name.starts_with("load:") => {
                calls.push(vec![package.to_string(), name.clone(), s.cell()]);
            }
            (Ok(s), Some((_, _, Ok(t)))) => {
                let ratio = s.median.as_secs_f64() / t.median.as_secs_f64();
                rows.push(vec![
                    name.clone(),
                    package.to_string(),
                    s.cell(),
                    format!("{peer}: {}", fmt(t.median)),
                    format!("{ratio:.2}"),
                ]);
                if name == "happy-path-v0.3" && *peer == "sigstore-python" {
                    report.target(
                        "happy-path-v0.3 through the Python package ≤ 1.0× sigstore-python",
                        format!("{ratio:.2}× ({} vs {})", fmt(s.median), fmt(t.median)),
                        ratio <= 1.0,
                    );
                }
                if name == "happy-path-v0.3" && *peer == "sigstore-js" {
                    report.target(
                        "happy-path-v0.3 through the Node package ≥ 5× faster than sigstore-js",
                        format!(
                            "{:.1}× faster ({} vs {})",
                            1.0 / ratio,
                            fmt(s.median),
                            fmt(t.median)
                        ),
                        ratio <= 0.2,
                    );
                }
            }
            (Ok(s), _) => rows.push(vec![
                name.clone(),
                package.to_string(),
                s.cell(),
                format!("{peer}: n/a"),
                "–".into(),
            ]),
            (Err(e), _) => rows.push(vec![
                name.clone(),
                package.to_string(),
                format!("n/a: {e}"),
                "–".into(),
                "–".into(),
            ]),
        }
    }
    report.table(
        &["case", "package", "time", "peer", "package / peer"],
        &rows,
    );
    report.text.push_str(
        "\nOne call across each package's boundary (section 4 has the Rust host's). A 5 KB \
         `list<u8>` was 4.2 ms in wasmtime-py's own conversion, one element at a time; \
         `sigward._abi` writes it in one strided copy, and JSON documents cross as strings \
         (WIT 0.3.0).\n\n",
    );
    report.table(&["package", "call", "time"], &calls);
}

fn rules_policy(n: usize) -> String {
    let mut text = String::from("apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "  - image: registry.example/team-{i}/*\n    skip: true"
        );
    }
    text
}

fn matching(runtime: &Runtime, report: &mut Report) {
    report.section(
        "3. Policy matching",
        "One image against policies of 1, 100 and 10 000 rules, inside the component, warm. The \
         image matches the last rule: a plain scan would try every rule; the index over the rules' literal \
         prefixes tries only those whose prefix the image starts with. Loading (parsing and validating) \
         the policy is shown apart: it happens once per policy, not per image.",
    );
    let mut rows = Vec::new();
    for n in [1usize, 100, 10_000] {
        let text = rules_policy(n);
        let image = format!("registry.example/team-{}/app:v1", n - 1);
        let load = time(if n > 1000 { 10 } else { 100 }, || {
            drop(runtime.load_policy(&text).unwrap().unwrap())
        });
        let mut session = runtime.load_policy(&text).unwrap().unwrap();
        for _ in 0..100 {
            session.match_image(&image).unwrap().unwrap();
        }
        let m = time(if n > 1000 { 1000 } else { 10_000 }, || {
            drop(session.match_image(&image).unwrap().unwrap())
        });
        rows.push(vec![n.to_string(), m.cell(), load.cell()]);
        match n {
            10_000 => report.target(
                "match against 10 000 rules < 50 µs",
                fmt(m.median),
                m.median < Duration::from_micros(50),
            ),
            100 => report.target(
                "match against 100 rules < 10 µs",
                fmt(m.median),
                m.median < Duration::from_micros(10),
            ),
            _ => {}
        }
    }
    report.table(&["rules", "match (warm)", "policy load"], &rows);
}

fn boundary(runtime: &Runtime, report: &mut Report) {
    report.section(
        "4. The cost of the boundary",
        "`rule-count` crosses from the host into the guest and back and does nothing else. The \
         trusted root and the policy live in the instance as resources: a warm verification \
         with a loaded root handle is compared with a one-shot one that instantiates, parses the \
         root and verifies (what `sigward verify-bundle` does once per process).",
    );
    let policy = rules_policy(10_000);
    let mut session = runtime.load_policy(&policy).unwrap().unwrap();
    let call = time(10_000, || {
        std::hint::black_box(session.rule_count().unwrap());
    });
    report.target(
        "one host-to-guest call < 20 µs",
        fmt(call.median),
        call.median < Duration::from_micros(20),
    );

    let case = &cases()[0];
    let root_json = std::fs::read(&case.root).unwrap();
    let bundle = std::fs::read(&case.bundle).unwrap();
    let artifact =
        Artifact::Bytes(std::fs::read(shared().join("conformance/bundle-verify/a.txt")).unwrap());
    let signer = Signer::Keyless(KeylessIdentity {
        issuer: ACTIONS.into(),
        subject: Some(BEACON.into()),
        subject_regex: None,
    });
    let one_shot = time(50, || {
        drop(
            runtime
                .verify_bundle(&root_json, &bundle, &artifact, &signer)
                .unwrap(),
        )
    });
    let root = session.load_trusted_root(&root_json).unwrap().unwrap();
    let warm = time(200, || {
        drop(
            session
                .verify_bundle(&bundle, &artifact, &signer, &root)
                .unwrap()
                .unwrap(),
        )
    });
    // Each handle stays in the instance: a host that reloads roots should drop them.
    let root_load = time(50, || {
        let _handle = session.load_trusted_root(&root_json).unwrap().unwrap();
    });
    report.table(
        &["call", "time"],
        &[
            vec![
                "`rule-count` on a 10 000-rule policy (nothing but the crossing)".into(),
                call.cell(),
            ],
            vec![
                "load the production trusted root (once per handle)".into(),
                root_load.cell(),
            ],
            vec![
                "happy-path-v0.3, warm, root handle reused".into(),
                warm.cell(),
            ],
            vec![
                "happy-path-v0.3, one-shot: instantiate, parse root, verify".into(),
                one_shot.cell(),
            ],
        ],
    );
}

fn startup(report: &mut Report) {
    report.section(
        "5. Start-up",
        "From process start to the first decision: `sigward verify --oci-layout` on the demo's \
         layout, one keyless legacy signature verified. *Cold*: a new, empty compiled-code cache \
         each run, so the component is compiled; *cold, precompiled*: the same, with the fast \
         component compiled ahead of time by `sigward component --precompile` (what `just build` \
         puts beside the binary as `sigward.cwasm`); *warm*: the cache of the previous run, no \
         precompiled file.",
    );
    let dir = std::env::temp_dir().join(format!("sigward-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut layout = Layout::create(&dir.join("layout")).unwrap();
    let world = sigward_demo::fill(&mut layout, "registry.demo.test").unwrap();
    std::fs::write(dir.join("policy.yaml"), &world.policy).unwrap();
    std::fs::write(dir.join("trusted_root.json"), &world.trusted_root).unwrap();
    let precompiled = dir.join("sigward.cwasm");
    let made = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .arg("component")
        .arg("--precompile")
        .arg(&precompiled)
        .env("SIGWARD_CACHE_DIR", dir.join("precompile-cache"))
        .output()
        .unwrap();
    assert!(made.status.success());
    let run = |cache: &Path, precompiled: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_sigward"))
            .arg("verify")
            .arg("--policy")
            .arg(dir.join("policy.yaml"))
            .arg("--trusted-root")
            .arg(dir.join("trusted_root.json"))
            .arg("--oci-layout")
            .arg(dir.join("layout"))
            .arg("registry.demo.test/signed/legacy:v1")
            .env("SIGWARD_CACHE_DIR", cache)
            .env("SIGWARD_PRECOMPILED", precompiled)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    let none = Path::new("");
    let mut i = 0;
    let cold = time(5, || {
        i += 1;
        run(&dir.join(format!("cold-{i}")), none);
    });
    let cold_precompiled = time(20, || {
        i += 1;
        run(&dir.join(format!("cold-{i}")), &precompiled);
    });
    let warm_cache = dir.join("warm");
    run(&warm_cache, none);
    let warm = time(20, || run(&warm_cache, none));
    report.target(
        "process start to first decision, empty cache, precompiled code < 100 ms",
        fmt(cold_precompiled.median),
        cold_precompiled.median < Duration::from_millis(100),
    );
    report.target(
        "process start to first decision, warm cache < 50 ms",
        fmt(warm.median),
        warm.median < Duration::from_millis(50),
    );
    report.table(
        &["compiled code", "process start → decision"],
        &[
            vec!["cold: compiled".into(), cold.cell()],
            vec!["cold: precompiled".into(), cold_precompiled.cell()],
            vec!["warm cache".into(), warm.cell()],
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn size(runtime: &Runtime, report: &mut Report) {
    report.section(
        "6. Size and memory",
        "The component as embedded in `sigward`, and the linear memory of one instance at its \
         peak (wasm memory only grows), after loading the given policy and trusted root and \
         verifying happy-path-v0.3.",
    );
    let builds = [
        (
            "fast component",
            "fast",
            sigward_host::runtime::Build::Fast.bytes().len(),
        ),
        (
            "portable component",
            "portable",
            sigward_host::runtime::Build::Portable.bytes().len(),
        ),
        (
            "Kubewarden module",
            "kubewarden",
            sigward_host::kubewarden::MODULE.len(),
        ),
    ];
    let mut rows = Vec::new();
    for (label, _, bytes) in &builds {
        report.target(
            &format!("{label} < 1.5 MB"),
            format!("{bytes} bytes"),
            *bytes < 1_500_000,
        );
        rows.push(vec![label.to_string(), format!("{bytes} bytes")]);
    }
    let case = &cases()[0];
    let root_json = std::fs::read(&case.root).unwrap();
    let bundle = std::fs::read(&case.bundle).unwrap();
    for (label, rules) in [("1-rule policy", 1), ("10 000-rule policy", 10_000)] {
        let mut session = runtime.load_policy(&rules_policy(rules)).unwrap().unwrap();
        let root = session.load_trusted_root(&root_json).unwrap().unwrap();
        let signer = Signer::Keyless(KeylessIdentity {
            issuer: ACTIONS.into(),
            subject: Some(BEACON.into()),
            subject_regex: None,
        });
        let artifact = Artifact::Bytes(
            std::fs::read(shared().join("conformance/bundle-verify/a.txt")).unwrap(),
        );
        session
            .verify_bundle(&bundle, &artifact, &signer, &root)
            .unwrap()
            .unwrap();
        rows.push(vec![
            format!("peak memory per instance, {label}"),
            format!(
                "{:.1} MiB",
                session.peak_memory_bytes() as f64 / 1_048_576.0
            ),
        ]);
    }
    report.table(&["what", "size"], &rows);
    code_by_crate(report, &builds.map(|(label, name, _)| (label, name)));
}

/// What each crate's code costs in each build, from the tables host/build.rs
/// wrote while it dropped the modules' names (`SIGWARD_SIZES_DIR`).
fn code_by_crate(report: &mut Report, builds: &[(&str, &str)]) {
    let Some(dir) = option_env!("SIGWARD_SIZES_DIR") else {
        report.text.push_str(
            "\nNo size table: the guest was not built here (prebuilt components were given).\n",
        );
        return;
    };
    let tables: Vec<BTreeMap<String, u64>> = builds
        .iter()
        .map(|(_, name)| {
            let text = std::fs::read_to_string(format!("{dir}/sigward-{name}.sizes.tsv"))
                .unwrap_or_default();
            text.lines()
                .filter_map(|line| line.split_once('\t'))
                .filter_map(|(part, bytes)| Some((part.to_owned(), bytes.parse().ok()?)))
                .collect()
        })
        .collect();
    let Some(fast) = tables.first() else {
        return;
    };
    // Parts in the fast build's order, largest first, the core's modules
    // under it; the small crates together.
    let by_size = |prefix: &str| {
        let mut parts: Vec<(&String, &u64)> =
            fast.iter().filter(|(p, _)| p.starts_with(prefix)).collect();
        parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        parts
    };
    let mut parts = by_size("crate ");
    parts.extend(
        ["data", "other"]
            .iter()
            .filter_map(|p| fast.get_key_value(*p)),
    );
    parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let modules = by_size("module ");
    let kb = |bytes: u64| format!("{:.1} KB", bytes as f64 / 1000.0);
    let row_of = |label: String, part: &str| {
        let mut row = vec![label];
        row.extend(
            tables
                .iter()
                .map(|t| t.get(part).map_or("–".to_owned(), |b| kb(*b))),
        );
        row
    };
    let mut rows = Vec::new();
    let mut small = vec![0u64; tables.len()];
    for (part, bytes) in parts {
        let Some(name) = part.strip_prefix("crate ") else {
            rows.push(row_of(format!("*{part}*"), part));
            continue;
        };
        if *bytes < 10_000 {
            for (sum, table) in small.iter_mut().zip(&tables) {
                *sum += table.get(part).copied().unwrap_or(0);
            }
            continue;
        }
        rows.push(row_of(format!("`{name}`"), part));
        if name == "sigward_core" {
            for (module, _) in &modules {
                let name = module.trim_start_matches("module sigward_core::");
                rows.push(row_of(format!("&nbsp;&nbsp;its `{name}`"), module));
            }
        }
    }
    let mut row = vec!["other crates (under 10 KB each in the fast build)".to_owned()];
    row.extend(small.iter().map(|b| kb(*b)));
    rows.push(row);
    let mut row = vec!["**the module**".to_owned()];
    row.extend(
        tables
            .iter()
            .map(|t| t.get("total").map_or("–".to_owned(), |b| kb(*b))),
    );
    rows.push(row);
    report.text.push_str(
        "\nWhat each part of the code costs: the bytes of each crate's function bodies in each \
         build's core module (the component wraps it in a few KB of types), by the crate of the \
         function's own path, so generic code counts to the crate that defines it (serde's \
         derives to the crate deriving them) and the component's exports with all they inline \
         to `sigward_component`; the core's share is also given by its top modules. *data* is \
         the static data (tables, strings), *other* the types, exports and custom sections. The \
         `guest` profile (Cargo.toml) keeps `sigward-signature` and the curve, hash and \
         bundle-parsing crates at opt-level 3, the core at \"s\" and the crates only policies, \
         advisories and TUF need at \"z\".\n\n",
    );
    let mut header = vec!["part"];
    header.extend(builds.iter().map(|(label, _)| *label));
    report.table(&header, &rows);
}

/// A TUF update of the frozen Sigstore repository (from a directory, at the
/// time it was frozen): from the initial root to a checked
/// `trusted_root.json`, and again with the cache current.
fn tuf(runtime: &Runtime, report: &mut Report) {
    use sigward_host::tuf::{Updater, repository};
    report.section(
        "8. TUF update",
        "`sigward trust update`'s work in one process, without the start-up: the frozen copy of \
         Sigstore's TUF repository that the tuf-conformance suite carries, read from a \
         directory at the time it was frozen. Every metadata check runs in the component. \
         *Empty cache*: from the initial root (v12) to the checked target (root 13 looked for, \
         timestamp, snapshot, targets, `trusted_root.json`). *Current cache*: the same with \
         the metadata already stored (root 13 and the timestamp looked for, the rest read \
         from the store and checked again).",
    );
    let repo = shared().join("tuf-conformance/tuf_conformance/static_data/sigstore-root-signing");
    let cdn = std::env::temp_dir().join(format!("sigward-bench-tuf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cdn);
    std::fs::create_dir_all(cdn.join("targets")).unwrap();
    for (from, to) in [
        (repo.join("metadata"), cdn.clone()),
        (repo.join("targets"), cdn.join("targets")),
    ] {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let initial = std::fs::read(repo.join("initial_root.json")).unwrap();
    // 2025-02-09T12:02:08Z, the repository's `faketime`.
    let now = 1_739_102_528;
    let store = cdn.join("store");
    let update = |fresh: bool| {
        if fresh {
            let _ = std::fs::remove_dir_all(&store);
            std::fs::create_dir_all(store.join("targets")).unwrap();
            std::fs::write(store.join("root.json"), &initial).unwrap();
        }
        let mut repository = repository::open(cdn.to_str().unwrap(), None).unwrap();
        let mut updater = Updater::new(runtime, now, &store, Some(repository.as_mut())).unwrap();
        let info = updater.find_target("trusted_root.json").unwrap();
        updater.download(&info, &store.join("targets")).unwrap();
    };
    let empty = time(30, || update(true));
    let current = time(30, || update(false));
    let _ = std::fs::remove_dir_all(&cdn);
    report.table(
        &["update", "time"],
        &[
            vec!["empty cache".to_owned(), empty.cell()],
            vec!["current cache".to_owned(), current.cell()],
        ],
    );
}

/// Attestations and advisories over the demo world, in the component: the
/// check of `attested/app`'s four required attestations (after its
/// signature), and `affected` over every attested image's verified SBOM.
fn attestations(runtime: &Runtime, report: &mut Report) {
    use sigward_host::oci::{Reference, Store as _, digested_name, discover};
    report.section(
        "9. Attestations and advisories",
        "The demo world in an OCI layout, fetched once; the component's time only. \
         *verify-attested*: `registry.demo.test/attested/app:v1`, its signature then the four \
         attestations its rule requires (SLSA provenance with two conditions, SPDX, CycloneDX, a \
         vulnerability scan with a deny condition), five bundles offered, each one verified \
         (certificate path, SCT, SET, inclusion proof, DSSE signature, subject). *verify*: the \
         same image's signature alone under a rule without attestations (`signed/referrer:v1`). \
         *affected*: the verified SBOM of each of the six attested images against the demo's \
         eight OSV advisories.",
    );
    let dir = std::env::temp_dir().join(format!("sigward-bench-att-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut layout = Layout::create(&dir).unwrap();
    let world = sigward_demo::fill(&mut layout, "registry.demo.test").unwrap();
    let mut session = runtime.load_policy(&world.policy).unwrap().unwrap();
    let root = session
        .load_trusted_root(&world.trusted_root)
        .unwrap()
        .unwrap();
    let advisories: Vec<String> = sigward_demo::advisories()
        .iter()
        .map(|(a, _)| a.to_string())
        .collect();
    let now = 1_900_000_000;
    let mut fetched = Vec::new();
    for case in world.cases.iter().filter(|c| c.attested) {
        let reference: Reference = case.image.parse().unwrap();
        let digest = layout.resolve(&reference).unwrap();
        let signatures = discover::signatures(&mut layout, &reference, &digest)
            .unwrap()
            .signatures;
        let found = discover::attestations(&mut layout, &reference, &digest)
            .unwrap()
            .signatures;
        fetched.push((digested_name(&reference, &digest), signatures, found));
    }
    let (app, app_sigs, app_atts) = &fetched[0];
    let attested = time(30, || {
        let d = session
            .verify_attested(app, app_sigs, app_atts, &root, now)
            .unwrap()
            .unwrap();
        assert!(d.allowed, "{}", d.message);
    });
    let plain: Reference = "registry.demo.test/signed/referrer:v1".parse().unwrap();
    let digest = layout.resolve(&plain).unwrap();
    let sigs = discover::signatures(&mut layout, &plain, &digest)
        .unwrap()
        .signatures;
    let plain = digested_name(&plain, &digest);
    let verify = time(30, || {
        assert!(
            session
                .verify(&plain, &sigs, &root)
                .unwrap()
                .unwrap()
                .allowed
        );
    });
    let affected = time(30, || {
        for (image, _, found) in &fetched {
            let _ = session
                .affected(image, found, &root, now, &advisories)
                .unwrap();
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    report.table(
        &["call", "time"],
        &[
            vec!["verify (signature only)".to_owned(), verify.cell()],
            vec![
                "verify-attested (signature and 4 attestations)".to_owned(),
                attested.cell(),
            ],
            vec![
                "affected, 6 images × 8 advisories".to_owned(),
                affected.cell(),
            ],
        ],
    );
}

/// The fast and the portable component on the same bundles, each in an
/// engine with only the proposals it needs.
fn portable(policy: &str, report: &mut Report) {
    use sigward_host::runtime::Build;
    report.section(
        "1b. The portable component",
        "The same core and adapter built without wasm's `wide-arithmetic` proposal (and with the \
         curve crates on 32-bit limbs, whose products plain wasm multiplies in one instruction), \
         for hosts that lack the proposal (V8 in Node and browsers), against the fast build, both \
         under wasmtime, warm, as in section 1.",
    );
    let cache = std::env::temp_dir().join(format!("sigward-bench-portable-{}", std::process::id()));
    let artifact =
        Artifact::Bytes(std::fs::read(shared().join("conformance/bundle-verify/a.txt")).unwrap());
    let runtimes = Build::ALL
        .map(|build| Runtime::with_build(build, Limits::default(), Some(&cache)).unwrap());
    let mut rows = Vec::new();
    for case in cases() {
        let root_json = std::fs::read(&case.root).unwrap();
        let bundle = std::fs::read(&case.bundle).unwrap();
        let signer = match &case.key {
            Some(key) => Signer::PublicKey(std::fs::read_to_string(key).unwrap()),
            None => Signer::Keyless(KeylessIdentity {
                issuer: ACTIONS.into(),
                subject: Some(BEACON.into()),
                subject_regex: None,
            }),
        };
        let [fast, portable] = runtimes.each_ref().map(|runtime| {
            let mut session = runtime.load_policy(policy).unwrap().unwrap();
            let root = session.load_trusted_root(&root_json).unwrap().unwrap();
            let mut once = || {
                session
                    .verify_bundle(&bundle, &artifact, &signer, &root)
                    .unwrap()
                    .unwrap()
            };
            once();
            time(200, || drop(once()))
        });
        let ratio = portable.median.as_secs_f64() / fast.median.as_secs_f64();
        if case.name == "happy-path-v0.3" {
            report.target(
                "happy-path-v0.3: portable component ≤ 1.5× the fast one",
                format!(
                    "{ratio:.2}× ({} vs {})",
                    fmt(portable.median),
                    fmt(fast.median)
                ),
                ratio <= 1.5,
            );
        }
        rows.push(vec![
            case.name.to_owned(),
            fast.cell(),
            portable.cell(),
            format!("{ratio:.2}×"),
        ]);
    }
    report.table(&["case", "fast", "portable", "portable/fast"], &rows);
    let _ = std::fs::remove_dir_all(&cache);
}

/// The Kubewarden policy, loaded as policy-evaluator loads a waPC policy
/// (tests/kubewarden_host.rs), its host callbacks answered from the demo
/// world in a real docker-registry: one `validate` of a one-container Pod.
fn inventory(report: &mut Report) {
    use inventory_scale as scale;
    report.section(
        "11. The inventory store at scale",
        &format!(
            "`sigward_host::inventory` on a SQLite file and on a real PostgreSQL server (Debian's, \
             started here in a temporary directory with fsync off, as the tests start it), the \
             same code on both. Synthetic data shaped like the real thing \
             (host/benches/inventory_scale.rs): {} images of {} packages each, {} million \
             image-package rows, drawn from 10 000 package names in five ecosystems, and {} OSV \
             records of about a kilobyte over 200 000 package names in osv.dev's `all.zip` layout. \
             *Import*: the archive into an empty store, one transaction. *Fill*: recording the \
             images and storing their SBOMs' packages, 100 images per transaction as `serve`'s \
             recorder batches them. *Maintain*: `sigward inventory maintain` after the fill \
             (PostgreSQL's `VACUUM (ANALYZE)`, which autovacuum would run by itself soon after \
             such a load; SQLite's `ANALYZE`). *One new advisory*: imported, then the images it affects (the median of 5 queries). *Whole \
             inventory*: every stored advisory against every stored package. Every \
             (advisory, package) pair the store finds by the core's match keys is decided by the \
             core's matcher, as the component decides it.",
            scale::IMAGES,
            scale::PACKAGES_PER_IMAGE,
            scale::IMAGES * scale::PACKAGES_PER_IMAGE / 1_000_000,
            scale::ADVISORIES
        ),
    );
    let dir = std::env::temp_dir().join(format!("sigward-bench-inventory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("all.zip");
    let started = Instant::now();
    scale::write_archive(&archive, 0, scale::ADVISORIES, &mut scale::Rng::new(1));
    println!(
        "  wrote {} records ({} MB zipped) in {:.1} s",
        scale::ADVISORIES,
        std::fs::metadata(&archive).unwrap().len() / 1_000_000,
        started.elapsed().as_secs_f64()
    );
    let new = dir.join("new.json");
    scale::new_advisory(&new);
    let postgres = postgres_server::PostgresServer::start("bench");
    let mut rows = Vec::new();
    for (name, url) in [
        ("SQLite", dir.join("inventory.db").display().to_string()),
        ("PostgreSQL", postgres.url()),
    ] {
        println!("  {name}: filling...");
        let r = scale::run(&url, &archive, &new);
        let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        rows.push(vec![
            name.to_owned(),
            format!("{} ({} records)", secs(r.import), r.imported),
            secs(r.fill),
            secs(r.maintain),
            format!("{} ({} images)", ms(r.one), r.one_images),
            format!(
                "{} ({} findings in {} images)",
                secs(r.all),
                r.findings,
                r.affected_images
            ),
        ]);
        report.target(
            &format!("{name}: import {} OSV records < 60 s", scale::ADVISORIES),
            secs(r.import),
            r.import < Duration::from_secs(60),
        );
        report.target(
            &format!("{name}: the images one new advisory affects < 50 ms"),
            ms(r.one),
            r.one < Duration::from_millis(50),
        );
        report.target(
            &format!("{name}: the whole inventory against all advisories < 10 s"),
            secs(r.all),
            r.all < Duration::from_secs(10),
        );
    }
    report.table(
        &[
            "back end",
            "import",
            "fill (10 000 images)",
            "maintain",
            "one new advisory",
            "whole inventory",
        ],
        &rows,
    );
    drop(postgres);
    let _ = std::fs::remove_dir_all(&dir);
}

fn kubewarden(report: &mut Report) {
    use sigward_host::oci::registry::{Options, Registry};

    const RUNS: usize = 200;
    const UNCACHED: usize = 100;
    report.section(
        "10. The Kubewarden policy",
        &format!(
            "The waPC module (`sigward component --kubewarden --write`) on the `wapc` and \
             `wasmtime-provider` host crates that Kubewarden's policy-evaluator uses, wasmtime's \
             defaults with epoch interruption, one instance reused as policy-server reuses one. \
             Each figure is one `validate` call: a `ValidationRequest` of a one-container Pod \
             with the demo world's settings, JSON in and out. *Skip*: a skip rule, no host call. \
             *Cached verify*: an image the instance verified before, by digest (no host call) \
             and by tag (one `manifest_digest` call to the registry). *Uncached verify*: each \
             call a new image by tag ({UNCACHED} of them): resolve, read its `.sig` manifest, \
             rebuild the payload, verify the keyless signature; registry time included."
        ),
    );
    let server = registry_server::RegistryServer::start();
    let mut registry = Registry::new(Options::default()).unwrap();
    let world = sigward_demo::fill(&mut registry, &server.address).unwrap();
    let many = sigward_demo::fill_many(&mut registry, &server.address, UNCACHED).unwrap();
    let module = sigward_host::kubewarden::MODULE;
    let policy = kubewarden_host::Policy::load(module, Some(registry));
    let settings = kubewarden_host::settings(&world);
    let request = |image: &str| {
        json!({"request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "CREATE", "namespace": "default",
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
                "spec": {"containers": [{"name": "app", "image": image}]}}},
            "settings": settings})
    };
    let validate = |image: &str, accepted: bool| {
        let answer = policy.call("validate", &request(image));
        assert_eq!(answer["accepted"], accepted, "{image}: {answer}");
    };
    let skipped = format!("{}/sandbox/scratch:v1", server.address);
    let tagged = format!("{}/signed/legacy:v1", server.address);
    validate(&tagged, true);
    let digest = {
        let answer = policy.call("validate", &request(&tagged));
        answer["mutated_object"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Each measure with the host calls it made per `validate`, as counted.
    let measure = |runs: usize, image: &mut dyn FnMut() -> String| {
        policy.take_calls();
        let stat = time(runs, || validate(&image(), true));
        (stat, policy.take_calls().len() as f64 / runs as f64)
    };
    let skip = measure(RUNS, &mut || skipped.clone());
    let by_digest = measure(RUNS, &mut || digest.clone());
    let by_tag = measure(RUNS, &mut || tagged.clone());
    let mut fresh = many.iter();
    let uncached = measure(UNCACHED, &mut || fresh.next().unwrap().0.clone());
    let row = |what: &str, (stat, calls): (Stat, f64)| {
        vec![what.to_owned(), stat.cell(), format!("{calls:.0}")]
    };
    report.table(
        &["what", "time", "host calls"],
        &[
            vec![
                "module size".into(),
                format!("{} bytes", module.len()),
                String::new(),
            ],
            row("validate, skip", skip),
            row("validate, cached verify, by digest", by_digest),
            row("validate, cached verify, by tag", by_tag),
            row("validate, uncached verify", uncached),
        ],
    );
}

fn resident_mib(pid: u32, field: &str) -> f64 {
    apiserver::resident_kib(pid, field).map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

/// `sigward serve` under load on loopback, driven as kube-apiserver drives
/// it (tests/apiserver.rs), against the demo world in a real docker-registry.
fn webhook(report: &mut Report) {
    use apiserver::{ApiServer, Call, Load};
    use sigward_host::oci::Store as _;
    use sigward_host::oci::registry::{Options, Registry};

    const CACHED: usize = 20_000;
    const UNCACHED: usize = 300;
    const CLIENTS: usize = 8;
    const MANY_CLIENTS: usize = 32;
    report.section(
        "7. The admission webhook",
        &format!(
            "`sigward serve` on loopback with the demo world in a real docker-registry, called \
             as kube-apiserver calls it (tests/apiserver.rs: HTTPS, keep-alive connections, one \
             AdmissionReview per call, each answer checked as the apiserver's dispatcher checks \
             it). The load generator shares the machine's 2 cores with the server and the \
             registry. *Cached*: a Pod of 3 digest-pinned images, verified once, then answered \
             from the decision cache ({CACHED} reviews). *Uncached*: each review a Pod with an \
             image not seen before, by tag, so each resolves, fetches a keyless legacy signature \
             and verifies it ({UNCACHED} reviews). *Latency* runs use one client; *throughput* \
             runs {CLIENTS} concurrent clients, and {MANY_CLIENTS} for the uncached p99 the \
             apiserver's 10 s allows. *Beyond fetch*: a review's latency less its registry time. \
             The steps of an uncached review are its audit annotation's: the component's match, \
             the tag resolved, the wait for a review verifying the same digest (single flight), \
             the signature sources fetched together with the blobs of the one used, and the \
             component's verification."
        ),
    );
    let dir = std::env::temp_dir().join(format!("sigward-bench-webhook-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = registry_server::RegistryServer::start();
    let mut registry = Registry::new(Options::default()).unwrap();
    let world = sigward_demo::fill(&mut registry, &server.address).unwrap();
    let many = sigward_demo::fill_many(&mut registry, &server.address, 3 * UNCACHED).unwrap();
    std::fs::write(dir.join("policy.yaml"), &world.policy).unwrap();
    std::fs::write(dir.join("trusted_root.json"), &world.trusted_root).unwrap();
    let tls = sigward_testpki::tls_server([127, 0, 0, 1]);
    std::fs::write(dir.join("tls.crt"), &tls.certificate_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &tls.key_pem).unwrap();
    let port = registry_server::free_port();
    // SIGWARD_BENCH_PERF=FILE records the server with `perf record -g`.
    let perf = std::env::var("SIGWARD_BENCH_PERF").ok();
    let listen = format!("127.0.0.1:{port}");
    let serve = apiserver::serve_command(env!("CARGO_BIN_EXE_sigward"), &dir, &listen);
    let mut command = match &perf {
        Some(file) => {
            let mut c = Command::new("perf");
            c.args(["record", "-g", "-o", file, "--"])
                .arg(serve.get_program())
                .args(serve.get_args());
            c
        }
        None => serve,
    };
    let mut child = command
        .env("SIGWARD_CACHE_DIR", dir.join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let api = ApiServer::new(&format!("https://127.0.0.1:{port}"), &tls.ca_pem);
    let started = Instant::now();
    while !matches!(api.fetch("/readyz"), Ok((200, _, _))) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "sigward serve never became ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id();
    let pinned: Vec<String> = ["signed/legacy:v1", "signed/referrer:v1", "signed/tagged:v1"]
        .iter()
        .map(|path| {
            let image = format!("{}/{path}", server.address);
            let digest = registry.resolve(&image.parse().unwrap()).unwrap();
            format!("{image}@{digest}")
        })
        .collect();
    let cached_pod = || {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
            "spec": {"containers": pinned.iter().enumerate()
                .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
                .collect::<Vec<_>>()},
        });
        Call::create("validate", pod)
    };
    let uncached = |images: &[(String, String)]| -> Vec<Call> {
        images
            .iter()
            .map(|(image, _)| {
                let pod = json!({
                    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
                    "spec": {"containers": [{"name": "app", "image": image}]},
                });
                Call::create("mutate", pod)
            })
            .collect()
    };
    let check = |what: &str, load: &Load| {
        assert!(load.errors.is_empty(), "{what}: {:?}", load.errors.first());
        assert_eq!(load.answered, load.sent, "{what}: lost reviews");
        assert_eq!(load.allowed, load.sent, "{what}: refused reviews");
    };
    let rss_start = resident_mib(pid, "VmRSS:");
    let uncached_latency = api.load(uncached(&many[..UNCACHED]), 1);
    check("uncached latency", &uncached_latency);
    let cpu_before = [
        cpu_seconds(pid),
        cpu_seconds(server.pid()),
        cpu_seconds(std::process::id()),
    ];
    let uncached_throughput = api.load(uncached(&many[UNCACHED..2 * UNCACHED]), CLIENTS);
    let cpu_after = [
        cpu_seconds(pid),
        cpu_seconds(server.pid()),
        cpu_seconds(std::process::id()),
    ];
    check("uncached throughput", &uncached_throughput);
    let uncached_crowd = api.load(uncached(&many[2 * UNCACHED..]), MANY_CLIENTS);
    check("uncached, many clients", &uncached_crowd);
    let _ = api.load((0..1000).map(|_| cached_pod()).collect(), CLIENTS);
    let rss_warm = resident_mib(pid, "VmRSS:");
    let cached_latency = api.load((0..CACHED / 4).map(|_| cached_pod()).collect(), 1);
    check("cached latency", &cached_latency);
    let cached_throughput = api.load((0..CACHED).map(|_| cached_pod()).collect(), CLIENTS);
    check("cached throughput", &cached_throughput);
    let rss_end = resident_mib(pid, "VmRSS:");
    let rss_peak = resident_mib(pid, "VmHWM:");
    if perf.is_some() {
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    } else {
        let _ = child.kill();
    }
    let _ = child.wait();

    let p = |sorted: &[Duration], q: f64| fmt(Load::percentile(sorted, q));
    let row = |name: &str, load: &Load| {
        vec![
            name.to_owned(),
            load.sent.to_string(),
            p(&load.latencies, 0.5),
            p(&load.latencies, 0.99),
            format!("{:.0}", load.per_second()),
        ]
    };
    report.table(
        &["run", "reviews", "p50", "p99", "reviews/s"],
        &[
            row("cached, 1 client", &cached_latency),
            row(&format!("cached, {CLIENTS} clients"), &cached_throughput),
            row("uncached, 1 client", &uncached_latency),
            row(
                &format!("uncached, {CLIENTS} clients"),
                &uncached_throughput,
            ),
            row(
                &format!("uncached, {MANY_CLIENTS} clients"),
                &uncached_crowd,
            ),
        ],
    );
    let per_review = |i: usize| {
        fmt(Duration::from_secs_f64(
            (cpu_after[i] - cpu_before[i]) / uncached_throughput.sent as f64,
        ))
    };
    let _ = write!(
        report.text,
        "\nCPU time per uncached review with {CLIENTS} clients: `sigward serve` {}, the registry {}, \
         the load generator (this process) {}.\n",
        per_review(0),
        per_review(1),
        per_review(2),
    );
    report
        .text
        .push_str("\nThe steps of each uncached review's image, p50 (p99):\n\n");
    let steps: Vec<Vec<String>> = uncached_latency
        .steps
        .iter()
        .map(|(step, one)| {
            let at = |load: &Load| {
                load.steps.get(step).map_or("–".to_owned(), |took| {
                    format!("{} ({})", p(took, 0.5), p(took, 0.99))
                })
            };
            vec![
                step.clone(),
                at(&uncached_latency),
                at(&uncached_throughput),
                at(&uncached_crowd),
            ]
            .into_iter()
            .chain(std::iter::once(one.len().to_string()))
            .collect()
        })
        .collect();
    report.table(
        &[
            "step",
            "1 client",
            &format!("{CLIENTS} clients"),
            &format!("{MANY_CLIENTS} clients"),
            "images (1 client)",
        ],
        &steps,
    );
    let _ = write!(
        report.text,
        "\nUncached, one client, per verified image: component {} (p99 {}), registry {} \
         (p99 {}); the review beyond its registry time {} (p99 {}).\n\n\
         Resident memory of `sigward serve`: {rss_start:.1} MiB when ready, {rss_warm:.1} MiB \
         after the uncached runs, {rss_end:.1} MiB after {} more reviews; peak {rss_peak:.1} MiB.\n",
        p(&uncached_latency.component, 0.5),
        p(&uncached_latency.component, 0.99),
        p(&uncached_latency.fetch, 0.5),
        p(&uncached_latency.fetch, 0.99),
        p(&uncached_latency.beyond_fetch, 0.5),
        p(&uncached_latency.beyond_fetch, 0.99),
        CACHED + CACHED / 4,
    );
    let p99 = Load::percentile(&cached_latency.latencies, 0.99);
    report.target(
        "webhook: cached Pod of 3 pinned images, p99 < 1 ms",
        fmt(p99),
        p99 < Duration::from_millis(1),
    );
    let rate = cached_throughput.per_second();
    report.target(
        "webhook: ≥ 5 000 cached reviews/s on 2 cores",
        format!("{rate:.0}/s"),
        rate >= 5000.0,
    );
    let (one, eight) = (
        uncached_latency.per_second(),
        uncached_throughput.per_second(),
    );
    report.target(
        &format!("webhook: {CLIENTS} concurrent uncached reviews ≥ 1.8× one client's throughput"),
        format!("{:.2}× ({eight:.0}/s vs {one:.0}/s)", eight / one),
        eight >= 1.8 * one,
    );
    let crowd = Load::percentile(&uncached_crowd.latencies, 0.99);
    report.target(
        &format!("webhook: uncached p99 at {MANY_CLIENTS} concurrent clients < 10 s"),
        fmt(crowd),
        crowd < Duration::from_secs(10),
    );
    let beyond = Load::percentile(&uncached_latency.beyond_fetch, 0.5);
    report.target(
        "webhook: uncached keyless verification ≤ 2 ms beyond the fetch",
        fmt(beyond),
        beyond <= Duration::from_millis(2),
    );
    report.target(
        "webhook: resident memory under load < 128 MiB",
        format!("{rss_peak:.1} MiB"),
        rss_peak < 128.0,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The CPU time (user and system) a process has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are
    // the 12th and 13th, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let output = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{cpu}, {cores} cores, {}; {}; {}; node {}",
        output("uname", &["-sr"]),
        output("rustc", &["--version"]),
        output("python3", &["--version"]),
        output("node", &["--version"]),
    )
}

fn main() {
    let mut python = None;
    let mut js = None;
    let mut sigward_python = None;
    let mut out = None;
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--python" => python = args.next(),
            "--js" => js = args.next(),
            "--sigward-python" => sigward_python = args.next(),
            "--out" => out = args.next(),
            // One section alone, for working on it: `--only verification`,
            // `portable`, `matching`, `boundary`, `startup`, `size`, `webhook`,
            // `tuf`, `attestations`, `kubewarden` or `inventory`.
            "--only" => only = args.next(),
            _ => {} // cargo bench passes --bench
        }
    }
    let cache = std::env::temp_dir().join(format!("sigward-bench-cache-{}", std::process::id()));
    let runtime = Runtime::new(Limits::default(), Some(&cache)).unwrap();
    let policy = rules_policy(1);
    let mut report = Report {
        text: String::new(),
        targets: Vec::new(),
    };
    match only.as_deref() {
        Some("verification") => drop(verification(&runtime, &policy, &mut report)),
        Some("portable") => portable(&policy, &mut report),
        Some("matching") => matching(&runtime, &mut report),
        Some("boundary") => boundary(&runtime, &mut report),
        Some("startup") => startup(&mut report),
        Some("size") => size(&runtime, &mut report),
        Some("webhook") => webhook(&mut report),
        Some("tuf") => tuf(&runtime, &mut report),
        Some("attestations") => attestations(&runtime, &mut report),
        Some("kubewarden") => kubewarden(&mut report),
        Some("inventory") => inventory(&mut report),
        Some(other) => panic!("no section {other}"),
        None => {
            let ours = verification(&runtime, &policy, &mut report);
            portable(&policy, &mut report);
            let peer_results = peers(python.as_deref(), js.as_deref(), &ours, &mut report);
            packages(sigward_python.as_deref(), &peer_results, &mut report);
            matching(&runtime, &mut report);
            boundary(&runtime, &mut report);
            startup(&mut report);
            size(&runtime, &mut report);
            webhook(&mut report);
            tuf(&runtime, &mut report);
            attestations(&runtime, &mut report);
            kubewarden(&mut report);
            inventory(&mut report);
        }
    }
    let _ = std::fs::remove_dir_all(&cache);

    let mut doc = String::from(
        "# sigward benchmarks\n\nWritten by `just bench` (the program is `host/benches/bench.rs`); \
         do not edit by hand. One run, one machine, every figure below from that run: median, \
         with the 10th–90th percentile range and the sample count.\n\n",
    );
    let _ = writeln!(doc, "- Machine: {}", machine());
    let _ = writeln!(
        doc,
        "- Command: `just bench` (`cargo bench -p sigward-host --bench bench --profile dev`: the \
         host in the dev profile, the core at opt-level 3 and its dependencies at 2; the \
         component built with the `guest` profile and compiled by wasmtime's Cranelift)"
    );
    let _ = writeln!(
        doc,
        "\n## Targets\n\n| target | measured | met |\n|---|---|---|"
    );
    for (target, measured, met) in &report.targets {
        let _ = writeln!(
            doc,
            "| {target} | {measured} | {} |",
            if *met { "yes" } else { "**no**" }
        );
    }
    doc.push_str(&report.text);
    println!("\n== targets");
    for (target, measured, met) in &report.targets {
        println!(
            "  {target}: {measured} ({})",
            if *met { "met" } else { "NOT met" }
        );
    }
    if let Some(path) = out {
        std::fs::write(&path, doc).unwrap();
        println!("\nwrote {path}");
    }
}
