"""The values sigward takes and gives, as plain typed Python.

Each mirrors a type of the WIT contract (`wit/sigward.wit`,
`sigward:verifier@0.5.0`); callers never see wasmtime's own values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum


class Action(str, Enum):
    """What a matched rule tells the caller to do."""

    VERIFY = "verify"
    """Verify the image's signatures before admitting it."""
    SKIP = "skip"
    """Admit the image without verifying it."""
    DENY = "deny"
    """Refuse the image before anything is fetched."""
    NONE = "none"
    """No rule matched: the image is admitted unverified."""


class Outcome(str, Enum):
    """The outcome of one check."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in a policy or trusted root, tied to where it was found."""

    rule: int | None
    """0-based index of the rule; None for the document itself."""
    field: str
    """Field path, such as `keyless.subjectRegex`."""
    message: str

    def __str__(self) -> str:
        place = f"rule {self.rule}" if self.rule is not None else "document"
        return (
            f"{place}: {self.field}: {self.message}" if self.field else f"{place}: {self.message}"
        )


@dataclass(frozen=True)
class Check:
    """One line of a decision's trace."""

    name: str
    """Name of the check, such as `policy.match` or `tlog.set`."""
    outcome: Outcome
    detail: str
    """What it expected and what it found."""


@dataclass(frozen=True)
class KeylessIdentity:
    """A Fulcio certificate identity: the issuer, and the subject or a regex over it."""

    issuer: str
    subject: str | None = None
    subject_regex: str | None = None


@dataclass(frozen=True)
class PublicKey:
    """A signing key, as PEM."""

    pem: str


Signer = KeylessIdentity | PublicKey
"""Who must have signed: a keyless identity or a key."""


@dataclass(frozen=True)
class Match:
    """Which rule matches an image, and what it asks for."""

    reference: str
    """The normalized repository, such as `docker.io/library/nginx`."""
    digest: str | None
    """The digest the reference carried, as `sha256:<hex>`."""
    rule: int | None
    """0-based index of the first matching rule; None when nothing matched."""
    action: Action
    evidence: Signer | None
    """What a `verify` action needs; None for the other actions."""
    message: str
    """The Talos message for skip, deny and no match; empty for verify."""


@dataclass(frozen=True)
class Decision:
    """The final answer for one image."""

    allowed: bool
    """Whether the image may run."""
    verified: bool
    """Whether a signature was verified for it."""
    rule: int | None
    action: Action
    reference: str
    """The digested image reference the decision is about."""
    message: str
    """The Talos message for this outcome."""
    trace: tuple[Check, ...]
    """Every check made, in order."""


def as_text(document: str | bytes) -> str:
    # JSON is UTF-8; bytes that are not are passed with U+FFFD in place of
    # each invalid sequence, and then fail their checks in the component.
    if isinstance(document, str):
        return document
    return bytes(document).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ReferrerBundle:
    """A Sigstore bundle found as an OCI referrer of the image."""

    manifest_digest: str
    """The digest of the referrer manifest, as `sha256:<hex>`."""
    bundle: str | bytes
    """The bundle JSON."""


@dataclass(frozen=True)
class TagBundle:
    """A Sigstore bundle found under the image's `sha256-<hex>` tag."""

    bundle: str | bytes


@dataclass(frozen=True)
class LegacySignature:
    """A legacy cosign signature: one layer of the `sha256-<hex>.sig` image."""

    payload: str | bytes
    """The simple-signing JSON, exactly as stored."""
    annotations: Mapping[str, str] | Iterable[tuple[str, str]] = field(default_factory=dict)
    """The layer's annotations (`dev.cosignproject.cosign/signature`, ...)."""


Signature = ReferrerBundle | TagBundle | LegacySignature


@dataclass(frozen=True)
class Artifact:
    """What a bundle was signed over: the bytes, or only their digest (hex)."""

    data: bytes | None = None
    sha256: str | None = None
    sha512: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Artifact:
        """The artifact itself."""
        return cls(data=bytes(data))

    @classmethod
    def from_sha256(cls, digest_hex: str) -> Artifact:
        """Only the SHA-256 digest, as 64 hex digits."""
        return cls(sha256=digest_hex)

    @classmethod
    def from_sha512(cls, digest_hex: str) -> Artifact:
        """Only the SHA-512 digest, as 128 hex digits: enough for an in-toto
        subject, not for a message signature."""
        return cls(sha512=digest_hex)


@dataclass(frozen=True)
class SbomPackage:
    """One package of an SBOM, as the SBOM names it."""

    name: str
    version: str
    purl: str | None
    """Its package URL, such as `pkg:npm/lodash@4.17.20`, when given."""


@dataclass(frozen=True)
class Sbom:
    """An image's SBOM, from a verified SPDX or CycloneDX attestation."""

    predicate_type: str
    """`https://spdx.dev/Document` or `https://cyclonedx.org/bom`."""
    packages: tuple[SbomPackage, ...]


@dataclass(frozen=True)
class Finding:
    """A package of a verified SBOM that an OSV advisory affects."""

    package: SbomPackage
    advisory: str
    """The advisory's id, such as `GHSA-35jh-r3h4-6jhm`."""
    fixed: str | None
    """The first version the advisory says is fixed after this one."""
