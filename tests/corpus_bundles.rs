//! The other real bundles of the shared corpus (sigstore-js, sigstore-go,
//! cosign), with the identities and roots their READMEs name. The npm ones are
//! attestations whose in-toto subjects carry SHA-512 digests, so the artifact
//! is given by that digest; a wrong digest must then be refused.
//!
//! Three carry the Fulcio root in their v0.1 chains, as 2023 bundles do: it is
//! ignored, as sigstore-go and sigstore-js ignore it, and they verify.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use sigward_core::bundle::{Bundle, Content};
use sigward_core::policy::KeylessIdentity;
use sigward_core::public_key::PublicKey;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, KeyLog, Signer};
use sigward_tests::shared_dir;

const GITHUB_OAUTH: &str = "https://github.com/login/oauth";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";
const SIGSTORE_JS_RELEASE: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";

fn corpus(path: &str) -> PathBuf {
    shared_dir().join("corpus").join(path)
}

/// The artifact a DSSE bundle's first subject names, by its strongest digest.
fn subject(bundle: &Bundle) -> Artifact<'static> {
    let Content::Dsse(envelope) = &bundle.content else {
        panic!("not DSSE")
    };
    let statement: Value = serde_json::from_slice(&envelope.payload).unwrap();
    let digest = &statement["subject"][0]["digest"];
    let bytes = |hex: &str| {
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    match (digest["sha512"].as_str(), digest["sha256"].as_str()) {
        (Some(hex), _) => Artifact::Sha512(bytes(hex).try_into().unwrap()),
        (None, Some(hex)) => Artifact::Digest(bytes(hex).try_into().unwrap()),
        _ => panic!("no digest"),
    }
}

fn message_digest(bundle: &Bundle) -> Artifact<'static> {
    let Content::MessageSignature {
        digest: Some(d), ..
    } = &bundle.content
    else {
        panic!("no digest")
    };
    Artifact::Digest(d.as_slice().try_into().unwrap())
}

fn wrong(artifact: Artifact<'static>) -> Artifact<'static> {
    match artifact {
        Artifact::Sha512(mut d) => {
            d[0] ^= 1;
            Artifact::Sha512(d)
        }
        Artifact::Digest(mut d) => {
            d[0] ^= 1;
            Artifact::Digest(d)
        }
        other => other,
    }
}

enum Who {
    Keyless(&'static str, &'static str),
    Key(&'static str),
}

fn run(
    bundle_path: &str,
    root_path: &str,
    who: &Who,
    pick: fn(&Bundle) -> Artifact<'static>,
    flip: bool,
) -> Result<(), String> {
    let bundle =
        Bundle::parse(&std::fs::read(corpus(bundle_path)).unwrap()).map_err(|e| e.to_string())?;
    let root = TrustedRoot::parse(&std::fs::read(corpus(root_path)).unwrap()).unwrap();
    let artifact = if flip {
        wrong(pick(&bundle))
    } else {
        pick(&bundle)
    };
    let result = match who {
        Who::Keyless(subject, issuer) => {
            let identity =
                KeylessIdentity::new((*issuer).into(), Some((*subject).into()), None).unwrap();
            bundle::verify(
                &bundle,
                artifact,
                Signer::Keyless(&identity),
                &root,
                &mut Vec::new(),
            )
        }
        Who::Key(path) => {
            let key = PublicKey::from_pem(&std::fs::read_to_string(corpus(path)).unwrap()).unwrap();
            bundle::verify(
                &bundle,
                artifact,
                Signer::Key(&key, KeyLog::Required),
                &root,
                &mut Vec::new(),
            )
        }
    };
    result.map_err(|f| f.to_string())
}

const PRODUCTION: &str = "root-signing/targets/trusted_root.json";
const GO_ROOT: &str = "sigstore-go/examples/trusted-root-public-good.json";

#[test]
fn sigstore_js_bundles() {
    let brian = Who::Keyless("brian@dehamer.com", GITHUB_OAUTH);
    for name in [
        "bundleV01-dsse-no-proof",
        "bundleV01-dsse-with-proof",
        "bundleV01-intoto-no-proof",
        "bundleV01-intoto-with-proof",
        "bundleV02-dsse",
        "bundleV02-intoto",
        "bundleV03-dsse",
        "bundleV03-intoto",
    ] {
        let path = format!("sigstore-js/tests/bundles/{name}.sigstore");
        assert_eq!(
            run(&path, PRODUCTION, &brian, subject, false),
            Ok(()),
            "{name}"
        );
        let err = run(&path, PRODUCTION, &brian, subject, true).unwrap_err();
        assert!(err.starts_with("dsse.subject"), "{name}: {err}");
    }
    let full_chain = "sigstore-js/tests/bundles/bundleV01-full-cert-chain.sigstore";
    assert_eq!(run(full_chain, PRODUCTION, &brian, subject, false), Ok(()));
    let err = run(full_chain, PRODUCTION, &brian, subject, true).unwrap_err();
    assert!(err.starts_with("dsse.subject"), "{err}");
}

#[test]
fn sigstore_go_bundles() {
    let release = Who::Keyless(SIGSTORE_JS_RELEASE, ACTIONS);
    let data = "sigstore-go/pkg/testing/data";
    assert_eq!(
        run(
            &format!("{data}/bundles/sigstore.js@2.0.0-provenance.sigstore.json"),
            GO_ROOT,
            &release,
            subject,
            false
        ),
        Ok(())
    );
    let npm_key = Who::Key("sigstore-go/examples/publish_key.pub");
    assert_eq!(
        run(
            "sigstore-go/examples/bundle-publish.json",
            GO_ROOT,
            &npm_key,
            subject,
            false
        ),
        Ok(())
    );
    let other = Who::Keyless("foo!oidc.local", "http://oidc.local:8080");
    assert_eq!(
        run(
            &format!("{data}/bundles/othername.sigstore.json"),
            &format!("{data}/trusted-roots/scaffolding.json"),
            &other,
            message_digest,
            false
        ),
        Ok(())
    );

    // The Fulcio root inside a v0.1 chain: ignored, never an anchor; they verify.
    assert_eq!(
        run(
            "sigstore-go/examples/bundle-provenance.json",
            GO_ROOT,
            &release,
            subject,
            false,
        ),
        Ok(())
    );
    let brian = Who::Keyless("brian@dehamer.com", GITHUB_OAUTH);
    assert_eq!(
        run(
            &format!("{data}/bundles/dsse.sigstore.json"),
            GO_ROOT,
            &brian,
            subject,
            false,
        ),
        Ok(())
    );
    // Two DSSE signatures: refused, as sigstore-go's test expects.
    let err = run(
        &format!("{data}/bundles/dsse-2sigs.sigstore.json"),
        GO_ROOT,
        &brian,
        subject,
        false,
    )
    .unwrap_err();
    assert!(err.contains("signatures"), "{err}");
    // A key with a timestamp but no log entry: the conformance client (as cosign) needs an entry.
    let key = Who::Key("sigstore-go/pkg/testing/data/public-keys/public-key-validity.pem");
    let err = run(
        &format!("{data}/bundles/public-key-validity.sigstore.json"),
        &format!("{data}/trusted-roots/public-key-validity.json"),
        &key,
        message_digest,
        false,
    )
    .unwrap_err();
    assert!(err.starts_with("tlog.entries"), "{err}");
}

#[test]
fn cosign_oci_attestation_bundle() {
    let cody = Who::Keyless("cody@soyland.com", GITHUB_OAUTH);
    let path = "cosign/pkg/cosign/testdata/oci-attestation.sigstore.json";
    let root = "cosign/pkg/cosign/testdata/trusted_root_pgi.json";
    assert_eq!(run(path, root, &cody, subject, false), Ok(()));
    assert!(
        run(path, root, &cody, subject, true)
            .unwrap_err()
            .starts_with("dsse.subject")
    );
}
