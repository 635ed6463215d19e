"""sigward: decides whether a container image may run.

The same WebAssembly component as the `sigward` CLI and admission webhook,
run in-process by wasmtime: a Talos `ImageVerificationConfig` policy, the
signatures a caller fetched, a Sigstore trusted root in; a decision with
its trace out. Nothing is fetched, and no clock is read.

    policy = Policy.parse(open("policy.yaml").read())
    root = TrustedRoot.parse(open("trusted_root.json", "rb").read())
    decision = policy.verify(image, [TagBundle(bundle_json)], root)

Attestations (sigward's extension of the policy) are checked by
`verify_attested`; `sbom` and `affected` read a verified SBOM.
"""

from ._component import INTERFACE, Limits
from .bundle import verify_bundle
from .errors import (
    BundleError,
    ComponentError,
    InvalidReference,
    PolicyError,
    SbomError,
    SigwardError,
    TrustedRootError,
    VerifyError,
)
from .policy import Policy
from .trusted_root import TrustedRoot
from .types import (
    Action,
    Artifact,
    Check,
    Decision,
    Diagnostic,
    Finding,
    KeylessIdentity,
    LegacySignature,
    Match,
    Outcome,
    PublicKey,
    ReferrerBundle,
    Sbom,
    SbomPackage,
    Signature,
    Signer,
    TagBundle,
)

__all__ = [
    "INTERFACE",
    "Action",
    "Artifact",
    "BundleError",
    "Check",
    "ComponentError",
    "Decision",
    "Diagnostic",
    "Finding",
    "InvalidReference",
    "KeylessIdentity",
    "LegacySignature",
    "Limits",
    "Match",
    "Outcome",
    "Policy",
    "PolicyError",
    "PublicKey",
    "ReferrerBundle",
    "Sbom",
    "SbomError",
    "SbomPackage",
    "Signature",
    "Signer",
    "SigwardError",
    "TagBundle",
    "TrustedRoot",
    "TrustedRootError",
    "VerifyError",
    "verify_bundle",
]
