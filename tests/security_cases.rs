//! Rows of SECURITY-CASES.md that real public-good bundles can exercise
//! without re-signing: each edits a valid conformance bundle or its trusted
//! root the way the attack did, and the verifier must refuse, naming the check.
//! (Rows that need signatures made to order wait for the project's test PKI;
//! legacy-signature rows arrive with legacy verification.)
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sigward_core::der::{self, Reader};
use sigward_core::policy::KeylessIdentity;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, Failure, Signer};
use sigward_tests::{production_trusted_root, shared_dir};

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

fn case_json(case: &str) -> Value {
    let path = shared_dir()
        .join("conformance/bundle-verify")
        .join(case)
        .join("bundle.sigstore.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn case_root(case: &str) -> Value {
    let own = shared_dir()
        .join("conformance/bundle-verify")
        .join(case)
        .join("trusted_root.json");
    let bytes = std::fs::read(own).unwrap_or_else(|_| production_trusted_root());
    serde_json::from_slice(&bytes).unwrap()
}

fn verify(bundle: &Value, root: &Value) -> Result<(), Failure> {
    let root = TrustedRoot::parse(&serde_json::to_vec(root).unwrap()).unwrap();
    let artifact = std::fs::read(shared_dir().join("conformance/bundle-verify/a.txt")).unwrap();
    let identity = KeylessIdentity::new(ACTIONS.into(), Some(BEACON.into()), None).unwrap();
    bundle::verify_json(
        &serde_json::to_vec(bundle).unwrap(),
        Artifact::Bytes(&artifact),
        Signer::Keyless(&identity),
        &root,
        &mut Vec::new(),
    )
}

fn refused(bundle: &Value, root: &Value, check: &str) -> Failure {
    match verify(bundle, root) {
        Ok(()) => panic!("expected a refusal by {check}"),
        Err(f) => {
            assert_eq!(f.check, check, "{f}");
            f
        }
    }
}

#[test]
fn the_unedited_bundles_verify() {
    for case in [
        "happy-path-v0.2",
        "happy-path-v0.3",
        "rekor2-timestamp-with-embedded-cert",
    ] {
        assert_eq!(verify(&case_json(case), &case_root(case)), Ok(()), "{case}");
    }
}

/// Row 2 (GHSA-8gw7-4j42-w388): another bundle's Rekor entry spliced in.
#[test]
fn row_2_a_spliced_entry_is_refused() {
    let mut bundle = case_json("happy-path-v0.3");
    let other = case_json("happy-path-v0.2");
    bundle["verificationMaterial"]["tlogEntries"] =
        other["verificationMaterial"]["tlogEntries"].clone();
    refused(&bundle, &case_root("happy-path-v0.3"), "tlog.body");
}

/// Row 2: a corrupted SET beside a good entry fails hard; no falling back.
#[test]
fn row_2_one_bad_entry_among_good_ones_fails_the_bundle() {
    let mut bundle = case_json("happy-path-v0.3");
    let good = bundle["verificationMaterial"]["tlogEntries"][0].clone();
    let mut bad = good.clone();
    let set = bad["inclusionPromise"]["signedEntryTimestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if set.starts_with('M') {
        set.replacen('M', "N", 1)
    } else {
        set.replacen(&set[..1], "M", 1)
    };
    bad["inclusionPromise"]["signedEntryTimestamp"] = json!(flipped);
    bundle["verificationMaterial"]["tlogEntries"] = json!([good, bad]);
    refused(&bundle, &case_root("happy-path-v0.3"), "tlog.set");
}

/// Row 8 (GHSA-wqqc-jjcq-vfxm): a key's validity window must hold at the
/// signing time: the log key, the Fulcio CA and the CT log alike.
#[test]
fn row_8_keys_outside_their_validity_window_are_refused() {
    let bundle = case_json("happy-path-v0.3");
    let integrated: i64 = bundle["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let before = sigward_core::x509::chain::rfc3339(integrated - 1);
    type Edit = (&'static str, fn(&mut Value, &str), &'static str);
    let edits: [Edit; 3] = [
        (
            "tlog.set",
            |root, end| {
                for log in root["tlogs"].as_array_mut().unwrap() {
                    log["publicKey"]["validFor"]["end"] = json!(end);
                }
            },
            "was not valid",
        ),
        (
            "certificate.chain",
            |root, end| {
                for ca in root["certificateAuthorities"].as_array_mut().unwrap() {
                    ca["validFor"]["end"] = json!(end);
                }
            },
            "no certificate authority",
        ),
        (
            "certificate.sct",
            |root, end| {
                for log in root["ctlogs"].as_array_mut().unwrap() {
                    log["publicKey"]["validFor"]["end"] = json!(end);
                }
            },
            "not valid at the SCT",
        ),
    ];
    for (check, edit, words) in edits {
        let mut root = case_root("happy-path-v0.3");
        edit(&mut root, &before);
        let failure = refused(&bundle, &root, check);
        assert!(failure.message.contains(words), "{failure}");
    }
}

/// Row 12 (GHSA-xgjw-pm74-86q4): without a SET, integratedTime is no time at
/// all, however it is edited.
#[test]
fn row_12_integrated_time_without_a_set_is_not_trusted() {
    let mut bundle = case_json("happy-path-v0.2");
    let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
    entry.as_object_mut().unwrap().remove("inclusionPromise");
    entry["integratedTime"] = json!("1700000000");
    let failure = refused(&bundle, &case_root("happy-path-v0.2"), "time");
    assert!(
        failure.message.contains("no verified signing time"),
        "{failure}"
    );
}

/// Row 19 (sigstore-go #145): a v0.3 bundle relabelled v0.1 with its proof
/// and SET dropped.
#[test]
fn row_19_a_downgraded_bundle_without_proof_or_set_is_refused() {
    let mut bundle = case_json("happy-path-v0.3");
    bundle["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
    let entry = bundle["verificationMaterial"]["tlogEntries"][0]
        .as_object_mut()
        .unwrap();
    entry.remove("inclusionProof");
    entry.remove("inclusionPromise");
    refused(&bundle, &case_root("happy-path-v0.3"), "tlog.set");
}

/// Row 15 (GHSA-xm5m-wrg3-rrg3): a forged leaf put in front of the TSA
/// token's certificate bag.
#[test]
fn row_15_a_forged_leaf_in_the_timestamp_bag_is_refused() {
    let case = "rekor2-timestamp-with-embedded-cert";
    let mut bundle = case_json(case);
    let stamps = &bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
    let token = base64_decode(stamps[0]["signedTimestamp"].as_str().unwrap());
    let forged = base64_decode(
        bundle["verificationMaterial"]["certificate"]["rawBytes"]
            .as_str()
            .unwrap(),
    );
    // Control: the rebuilt token verifies when nothing is prepended.
    let mut control = bundle.clone();
    control["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
        json!(base64_encode(&prepend_to_bag(&token, &[])));
    assert_eq!(verify(&control, &case_root(case)), Ok(()));
    let forged_token = prepend_to_bag(&token, &forged);
    bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
        json!(base64_encode(&forged_token));
    let failure = refused(&bundle, &case_root(case), "timestamp");
    assert!(failure.message.contains("first certificate"), "{failure}");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.replace('\n', ""))
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Rebuilds a TimeStampResp with `cert` first in the SignedData's bag.
fn prepend_to_bag(response: &[u8], cert: &[u8]) -> Vec<u8> {
    let top = Reader::new(response).expect(der::SEQUENCE).unwrap();
    let mut r = Reader::new(top.content);
    let status = r.expect(der::SEQUENCE).unwrap();
    let token = r.expect(der::SEQUENCE).unwrap();
    let mut t = Reader::new(token.content);
    let oid = t.expect(der::OID).unwrap();
    let explicit = t.expect(der::CONTEXT_0).unwrap();
    let signed_data = Reader::new(explicit.content).expect(der::SEQUENCE).unwrap();
    let mut sd = Reader::new(signed_data.content);
    let mut fields = Vec::new();
    while !sd.is_empty() {
        let field = sd.any().unwrap();
        if field.tag == der::CONTEXT_0 {
            let mut bag = cert.to_vec();
            bag.extend_from_slice(field.content);
            fields.extend(der::encode(der::CONTEXT_0, &bag));
        } else {
            fields.extend_from_slice(field.whole);
        }
    }
    let signed_data = der::encode(der::SEQUENCE, &fields);
    let mut token = oid.whole.to_vec();
    token.extend(der::encode(der::CONTEXT_0, &signed_data));
    let mut out = status.whole.to_vec();
    out.extend(der::encode(der::SEQUENCE, &token));
    der::encode(der::SEQUENCE, &out)
}
