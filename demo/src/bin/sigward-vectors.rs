//! `sigward-vectors OUT`: writes the decision vectors (`vectors/README.md`):
//! the demo world's images with the signatures a host finds for them, each
//! signature also with single characters changed (failures the component
//! must name); its attested images with their attestations too
//! (`verify-attested`, `sbom`, `affected`); and the sigstore-conformance
//! suite by its paths in `../shared`. Every `expect` is the fast
//! component's answer, computed here once; the committed file is then the
//! reference every host meets.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigward_demo::vectors::replay;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::{Reference, Store as _, digested_name, discover};
use sigward_host::runtime::Signature;
use sigward_host::{Limits, Runtime};
use sigward_testpki::T0;

/// Where each signature is changed: this many places, evenly spread.
const PLACES: usize = 6;

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("sigward-vectors: {message}");
    std::process::exit(2)
}

fn signature_json(signature: &Signature) -> Value {
    match signature {
        Signature::Legacy(legacy) => json!({"legacy": {
            "payload": B64.encode(&legacy.payload),
            "annotations": legacy.annotations.iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect::<Vec<_>>(),
        }}),
        Signature::ReferrerBundle((digest, bundle)) => {
            json!({"referrer_bundle": {"digest": digest, "bundle": B64.encode(bundle)}})
        }
        Signature::TagBundle(bundle) => json!({"tag_bundle": B64.encode(bundle)}),
    }
}

/// `text` with the character at each of [`PLACES`] spread positions
/// replaced by another, one at a time.
fn changed(text: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let mut places: Vec<usize> = (0..PLACES)
        .map(|k| (chars.len() - 1) * (2 * k + 1) / (2 * PLACES))
        .collect();
    places.dedup();
    places
        .into_iter()
        .map(|at| {
            let mut copy = chars.clone();
            copy[at] = if copy[at] == 'A' { 'B' } else { 'A' };
            (at, copy.into_iter().collect())
        })
        .collect()
}

/// Each signature of `found` with one field changed in one place.
fn variants(found: &[Signature]) -> Vec<(String, Vec<Signature>)> {
    let mut out = Vec::new();
    for (i, signature) in found.iter().enumerate() {
        let mut with = |name: String, changed: Signature| {
            let mut all = found.to_vec();
            all[i] = changed;
            out.push((format!("signature[{i}].{name}"), all));
        };
        match signature {
            Signature::Legacy(legacy) => {
                for (at, payload) in changed(&legacy.payload) {
                    let mut copy = legacy.clone();
                    copy.payload = payload;
                    with(format!("payload@{at}"), Signature::Legacy(copy));
                }
                for (k, (name, value)) in legacy.annotations.iter().enumerate() {
                    for (at, value) in changed(value) {
                        let mut copy = legacy.clone();
                        copy.annotations[k].1 = value;
                        with(format!("{name}@{at}"), Signature::Legacy(copy));
                    }
                }
            }
            Signature::ReferrerBundle((digest, bundle)) => {
                for (at, bundle) in changed(bundle) {
                    let copy = Signature::ReferrerBundle((digest.clone(), bundle));
                    with(format!("bundle@{at}"), copy);
                }
            }
            Signature::TagBundle(bundle) => {
                for (at, bundle) in changed(bundle) {
                    with(format!("bundle@{at}"), Signature::TagBundle(bundle));
                }
            }
        }
    }
    out
}

/// When the attested lines are judged: an hour after the demo's
/// attestations were logged (at `T0 + 60`).
const NOW: i64 = T0 + 3_660;

/// The demo policy with `maxAge: 1h` on its provenance entry: the
/// attestations are exactly that old at [`NOW`].
fn with_max_age(policy: &str) -> String {
    let entry = "      - predicateType: slsaprovenance1\n";
    if !policy.contains(entry) {
        fail("the demo policy has no provenance entry to give a maxAge")
    }
    policy.replace(entry, &format!("{entry}        maxAge: 1h\n"))
}

fn demo_lines(scratch: &Path) -> Vec<Value> {
    let _ = std::fs::remove_dir_all(scratch);
    let mut layout = Layout::create(scratch).unwrap_or_else(|e| fail(e));
    let world = sigward_demo::fill(&mut layout, "registry.demo.test").unwrap_or_else(|e| fail(e));
    let root = json!({"base64": B64.encode(&world.trusted_root)});
    let advisories: Vec<String> = sigward_demo::advisories()
        .iter()
        .map(|(advisory, _)| advisory.to_string())
        .collect();
    let mut lines = Vec::new();
    for case in &world.cases {
        let name = case.image.replace(['/', ':'], "-");
        let reference: Reference = case.image.parse().unwrap_or_else(|e| fail(e));
        // Images nothing is fetched for (skip, deny, no rule, or never
        // pushed) are named by a digest of zeros: the component decides them
        // without signatures.
        let (image, found, attestations) = match layout.resolve(&reference) {
            Ok(digest) => {
                let found = discover::signatures(&mut layout, &reference, &digest)
                    .map(|f| f.signatures)
                    .unwrap_or_default();
                let attestations = discover::attestations(&mut layout, &reference, &digest)
                    .map(|f| f.signatures)
                    .unwrap_or_default();
                (digested_name(&reference, &digest), found, attestations)
            }
            Err(_) => (
                format!(
                    "{}@sha256:{}",
                    case.image.split(':').next().unwrap_or_default(),
                    "0".repeat(64)
                ),
                Vec::new(),
                Vec::new(),
            ),
        };
        let listed =
            |signatures: &[Signature]| signatures.iter().map(signature_json).collect::<Vec<_>>();
        if !case.attested {
            let line = |id: String, signatures: &[Signature]| {
                json!({
                    "kind": "decision",
                    "id": id,
                    "policy": world.policy,
                    "trusted_root": root,
                    "image": image,
                    "signatures": listed(signatures),
                })
            };
            lines.push(line(format!("demo/{name}"), &found));
            if case.verified {
                for (what, signatures) in variants(&found) {
                    lines.push(line(format!("demo/{name}/{what}"), &signatures));
                }
            }
            continue;
        }
        let attested = |id: String, policy: &str, attestations: &[Signature], now: i64| {
            json!({
                "kind": "attested",
                "id": id,
                "policy": policy,
                "trusted_root": root,
                "image": image,
                "signatures": listed(&found),
                "attestations": listed(attestations),
                "now": now,
            })
        };
        lines.push(attested(
            format!("demo/{name}"),
            &world.policy,
            &attestations,
            NOW,
        ));
        for kind in ["sbom", "affected"] {
            let mut line = json!({
                "kind": kind,
                "id": format!("demo/{name}/{kind}"),
                "policy": world.policy,
                "trusted_root": root,
                "image": image,
                "attestations": listed(&attestations),
                "now": NOW,
            });
            if kind == "affected" {
                line["advisories"] = json!(advisories);
            }
            lines.push(line);
        }
        // The image that carries every attestation its rule requires: each
        // attestation changed in single characters, and its provenance
        // judged at both sides of a maxAge.
        if case.image.ends_with("/attested/app:v1") {
            // The signature's own referrer is offered as an attestation too
            // (the component sets it aside): changing it is not a change
            // of an attestation.
            let signed = listed(&found);
            let attestation_only = |what: &str| {
                attestations.iter().enumerate().any(|(i, a)| {
                    what.starts_with(&format!("signature[{i}]."))
                        && !signed.contains(&signature_json(a))
                })
            };
            for (what, changed) in variants(&attestations) {
                if !attestation_only(&what) {
                    continue;
                }
                let what = what.replacen("signature[", "attestation[", 1);
                lines.push(attested(
                    format!("demo/{name}/{what}"),
                    &world.policy,
                    &changed,
                    NOW,
                ));
            }
            let policy = with_max_age(&world.policy);
            for (what, now) in [("at", NOW), ("past", NOW + 1)] {
                lines.push(attested(
                    format!("demo/{name}/maxAge-1h/{what}-its-bound"),
                    &policy,
                    &attestations,
                    now,
                ));
            }
        }
    }
    lines
}

fn conformance_lines(shared: &Path) -> Vec<Value> {
    let index = std::fs::read_to_string(shared.join("conformance/INDEX.tsv"))
        .unwrap_or_else(|e| fail(format!("../shared/conformance/INDEX.tsv: {e}")));
    let mut rows = index.lines();
    let header: Vec<&str> = rows.next().unwrap_or_default().split('\t').collect();
    let mut lines = Vec::new();
    for row in rows {
        let field = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .and_then(|i| row.split('\t').nth(i))
                .unwrap_or_default()
                .to_owned()
        };
        let case = field("case");
        let root = if field("trusted_root").starts_with("PRODUCTION") {
            "corpus/root-signing/targets/trusted_root.json".to_owned()
        } else {
            format!("conformance/{}", field("trusted_root"))
        };
        let signer = match field("verify_with").as_str() {
            "key" => json!({"public_key": {"shared": format!("conformance/{}", field("key"))}}),
            _ => json!({
                "issuer": field("certificate_oidc_issuer"),
                "subject": field("certificate_identity"),
            }),
        };
        let artifact_path = format!("conformance/{}", field("artifact"));
        let artifact_bytes = std::fs::read(shared.join(&artifact_path)).unwrap_or_else(|e| fail(e));
        let digest: String = Sha256::digest(&artifact_bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for (how, artifact) in [
            ("bytes", json!({"shared": artifact_path})),
            ("sha256", json!({"sha256": digest})),
        ] {
            lines.push(json!({
                "kind": "bundle",
                "id": format!("conformance/{case}/{how}"),
                "bundle": {"shared": format!("conformance/bundle-verify/{case}/bundle.sigstore.json")},
                "artifact": artifact,
                "signer": signer,
                "trusted_root": {"shared": root},
                "expected_by_the_suite": field("expected"),
            }));
        }
    }
    lines
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| fail("usage: sigward-vectors OUT"));
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let runtime = Runtime::new(Limits::default(), Runtime::default_cache_dir().as_deref())
        .unwrap_or_else(|e| fail(e));
    let scratch = std::env::temp_dir().join(format!("sigward-vectors-{}", std::process::id()));
    let mut lines = demo_lines(&scratch);
    lines.extend(conformance_lines(&shared));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut file =
        std::fs::File::create(&out).unwrap_or_else(|e| fail(format!("{}: {e}", out.display())));
    for mut line in lines {
        let expect = replay(&runtime, &line, &shared)
            .unwrap_or_else(|e| fail(format!("{}: {e:?}", line["id"])));
        line["expect"] = expect;
        writeln!(file, "{line}").unwrap_or_else(|e| fail(e));
    }
}
