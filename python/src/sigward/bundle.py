"""One Sigstore bundle over an artifact, as a sigstore-conformance client verifies it."""

from __future__ import annotations

from . import _convert
from .errors import BundleError
from .trusted_root import TrustedRoot, shared_instance
from .types import Artifact, Check, Signer, as_text


def verify_bundle(
    bundle: str | bytes, artifact: Artifact | bytes, signer: Signer, root: TrustedRoot
) -> tuple[Check, ...]:
    """Verifies a bundle (JSON, v0.1 to v0.3) and returns the checks that held.

    Raises `BundleError` naming the check that failed. A key signer must
    also be backed by a verified log entry, as in cosign.
    """
    instance = shared_instance()
    value = instance.call(
        "verify-bundle",
        as_text(bundle),
        _convert.artifact(artifact),
        _convert.signer(signer),
        root._load_into(instance),
    )
    answer = _convert.result(value, "verify-bundle")
    if not answer.ok:
        failure = answer.payload
        raise BundleError(failure["check"], failure["message"], _convert.checks(failure["trace"]))
    return _convert.checks(answer.payload)
