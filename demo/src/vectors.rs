//! Decision vectors: inputs a host hands the component, with the answer it
//! must give, one JSON object per line of `vectors/decisions.jsonl` (the
//! format is in `vectors/README.md`). Every host (the Rust one with each
//! build, and the Python and Node packages) replays the file and must give
//! the same `expect` for every line.
//!
//! [`replay`] is the Rust host's side: it turns a line's inputs into
//! component calls and the answer into the `expect` shape. The generator
//! (`sigward-vectors`) wrote each `expect` with it once, from the fast build;
//! the file is then frozen and reviewed, and the test compares.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sigward_host::Runtime;
use sigward_host::decide::{action_name, outcome_name};
use sigward_host::runtime::{
    Artifact, BundleOutcome, Check, KeylessIdentity, LegacySignature, SbomPackage, Signature,
    Signer, VerifyError, document,
};

/// Why a line cannot be replayed: the line itself is wrong.
#[derive(Debug)]
pub struct BadLine(pub String);

fn bad(what: impl Into<String>) -> BadLine {
    BadLine(what.into())
}

fn text<'a>(value: &'a Value, field: &str) -> Result<&'a str, BadLine> {
    value[field]
        .as_str()
        .ok_or_else(|| bad(format!("{field} is not a string")))
}

fn base64(value: &Value, field: &str) -> Result<Vec<u8>, BadLine> {
    B64.decode(text(value, field)?)
        .map_err(|e| bad(format!("{field}: {e}")))
}

/// Bytes given inline (`{"base64": …}`) or by their path in `../shared`
/// (`{"shared": …}`).
fn bytes(value: &Value, shared: &Path) -> Result<Vec<u8>, BadLine> {
    if value.get("base64").is_some() {
        return base64(value, "base64");
    }
    let path = shared.join(text(value, "shared")?);
    std::fs::read(&path).map_err(|e| bad(format!("{}: {e}", path.display())))
}

fn signature(value: &Value) -> Result<Signature, BadLine> {
    if let Some(legacy) = value.get("legacy") {
        let annotations = legacy["annotations"]
            .as_array()
            .ok_or_else(|| bad("annotations"))?
            .iter()
            .map(|pair| {
                Ok((
                    text(pair, "name")?.to_owned(),
                    text(pair, "value")?.to_owned(),
                ))
            })
            .collect::<Result<_, BadLine>>()?;
        return Ok(Signature::Legacy(LegacySignature {
            payload: document(base64(legacy, "payload")?),
            annotations,
        }));
    }
    if let Some(referrer) = value.get("referrer_bundle") {
        return Ok(Signature::ReferrerBundle((
            text(referrer, "digest")?.to_owned(),
            document(base64(referrer, "bundle")?),
        )));
    }
    if value.get("tag_bundle").is_some() {
        return Ok(Signature::TagBundle(document(base64(value, "tag_bundle")?)));
    }
    Err(bad(format!("unknown signature {value}")))
}

fn checks(trace: &[Check]) -> Value {
    Value::Array(
        trace
            .iter()
            .map(|c| json!([c.name, outcome_name(c.outcome)]))
            .collect(),
    )
}

/// The answer for one line, in the shape of its `expect`.
pub fn replay(runtime: &Runtime, line: &Value, shared: &Path) -> Result<Value, BadLine> {
    match text(line, "kind")? {
        "decision" | "attested" | "sbom" | "affected" => policy_call(runtime, line, shared),
        "bundle" => bundle(runtime, line, shared),
        other => Err(bad(format!("unknown kind {other}"))),
    }
}

fn host(e: sigward_host::HostError) -> BadLine {
    bad(format!("the host failed: {e}"))
}

/// The signatures (or attestations) listed under `field`.
fn signatures(line: &Value, field: &str) -> Result<Vec<Signature>, BadLine> {
    line[field]
        .as_array()
        .ok_or_else(|| bad(field))?
        .iter()
        .map(signature)
        .collect()
}

fn now(line: &Value) -> Result<i64, BadLine> {
    line["now"]
        .as_i64()
        .ok_or_else(|| bad("now is not an integer"))
}

/// A line that loads its policy and root, then asks the policy: `verify`,
/// `verify-attested`, `sbom` or `affected`, by its kind.
fn policy_call(runtime: &Runtime, line: &Value, shared: &Path) -> Result<Value, BadLine> {
    let mut session = match runtime.load_policy(text(line, "policy")?).map_err(host)? {
        Ok(session) => session,
        Err(errors) => return Ok(json!({"policy_errors": errors.len()})),
    };
    let root_json = bytes(&line["trusted_root"], shared)?;
    let root = match session.load_trusted_root(&root_json).map_err(host)? {
        Ok(root) => root,
        Err(errors) => return Ok(json!({"trusted_root_errors": errors.len()})),
    };
    let image = text(line, "image")?;
    let answer = match text(line, "kind")? {
        "decision" => session.verify(image, &signatures(line, "signatures")?, &root),
        "attested" => session.verify_attested(
            image,
            &signatures(line, "signatures")?,
            &signatures(line, "attestations")?,
            &root,
            now(line)?,
        ),
        "sbom" => {
            let answer = session
                .sbom(image, &signatures(line, "attestations")?, &root, now(line)?)
                .map_err(host)?;
            return Ok(match answer {
                Ok(sbom) => json!({
                    "predicate_type": sbom.predicate_type,
                    "packages": sbom.packages.iter().map(package).collect::<Vec<_>>(),
                }),
                Err(message) => json!({"error": message}),
            });
        }
        _ => {
            let advisories = line["advisories"]
                .as_array()
                .ok_or_else(|| bad("advisories"))?
                .iter()
                .map(|a| a.as_str().map(str::to_owned).ok_or_else(|| bad("advisory")))
                .collect::<Result<Vec<_>, _>>()?;
            let attestations = signatures(line, "attestations")?;
            let answer = session
                .affected(image, &attestations, &root, now(line)?, &advisories)
                .map_err(host)?;
            return Ok(match answer {
                Ok(findings) => json!({"findings": findings.iter().map(|f| json!([
                    package(&f.package), f.advisory, f.fixed,
                ])).collect::<Vec<_>>()}),
                Err(message) => json!({"error": message}),
            });
        }
    }
    .map_err(host)?;
    Ok(match answer {
        Ok(d) => json!({
            "allowed": d.allowed,
            "verified": d.verified,
            "rule": d.rule,
            "action": action_name(d.action),
            "reference": d.reference,
            "message": d.message,
            "checks": checks(&d.trace),
        }),
        Err(error) => {
            let (kind, message) = match error {
                VerifyError::InvalidReference(e) => ("invalid-reference", e.message),
                VerifyError::LimitExceeded(m) => ("limit-exceeded", m),
                VerifyError::NotImplemented(m) => ("not-implemented", m),
            };
            json!({"error": kind, "message": message})
        }
    })
}

/// An SBOM package as `[name, version, purl]`, the purl `null` when absent.
fn package(p: &SbomPackage) -> Value {
    json!([p.name, p.version, p.purl])
}

fn bundle(runtime: &Runtime, line: &Value, shared: &Path) -> Result<Value, BadLine> {
    let artifact = &line["artifact"];
    let artifact = match artifact.get("sha256") {
        Some(digest) => Artifact::Sha256(digest.as_str().ok_or_else(|| bad("sha256"))?.to_owned()),
        None => Artifact::Bytes(bytes(artifact, shared)?),
    };
    let signer = &line["signer"];
    let signer = match signer.get("public_key") {
        Some(key) => Signer::PublicKey(
            String::from_utf8(bytes(key, shared)?).map_err(|_| bad("the key is not text"))?,
        ),
        None => Signer::Keyless(KeylessIdentity {
            issuer: text(signer, "issuer")?.to_owned(),
            subject: signer["subject"].as_str().map(str::to_owned),
            subject_regex: signer["subject_regex"].as_str().map(str::to_owned),
        }),
    };
    let root = bytes(&line["trusted_root"], shared)?;
    let bundle = bytes(&line["bundle"], shared)?;
    let outcome = runtime
        .verify_bundle(&root, &bundle, &artifact, &signer)
        .map_err(|e| bad(format!("the host failed: {e}")))?;
    Ok(match outcome {
        BundleOutcome::Verified(trace) => json!({"verified": true, "checks": checks(&trace)}),
        BundleOutcome::Failed(failure) => json!({
            "verified": false,
            "check": failure.check,
            "message": failure.message,
            "checks": checks(&failure.trace),
        }),
        BundleOutcome::InvalidRoot(errors) => json!({"trusted_root_errors": errors.len()}),
    })
}
