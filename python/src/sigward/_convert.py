"""Between the component's values (as `_abi` reads and writes them) and this
package's types. Each function is written for the WIT type it converts."""

from __future__ import annotations

from typing import Any

from ._abi import Case, Option, Record, Result
from .errors import ComponentError, InvalidReference, SbomError, VerifyError
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
    as_text,
)


def unexpected(what: str, value: Any) -> ComponentError:
    return ComponentError(f"the component gave {what} an unexpected value: {value!r}")


def result(value: Any, what: str) -> Result:
    if not isinstance(value, Result):
        raise unexpected(what, value)
    return value


def diagnostics(values: list[dict[str, Any]]) -> list[Diagnostic]:
    return [Diagnostic(rule=d["rule"], field=d["field"], message=d["message"]) for d in values]


def checks(values: list[dict[str, Any]]) -> tuple[Check, ...]:
    return tuple(Check(c["name"], Outcome(c["outcome"]), c["detail"]) for c in values)


def _evidence(value: Case | None) -> Signer | None:
    if value is None:
        return None
    if value.name == "public-key":
        return PublicKey(pem=value.payload)
    identity = value.payload
    return KeylessIdentity(identity["issuer"], identity["subject"], identity["subject-regex"])


def match(value: Any) -> Match:
    answer = result(value, "match-image")
    if not answer.ok:
        raise InvalidReference(answer.payload["image"], answer.payload["message"])
    m = answer.payload
    return Match(
        reference=m["reference"],
        digest=m["digest"],
        rule=m["rule"],
        action=Action(m["action"]),
        evidence=_evidence(m["evidence"]),
        message=m["message"],
    )


def decision(value: Any, what: str = "verify") -> Decision:
    answer = result(value, what)
    if not answer.ok:
        error: Case = answer.payload
        if error.name == "invalid-reference":
            raise InvalidReference(error.payload["image"], error.payload["message"])
        raise VerifyError(error.name, error.payload)
    d = answer.payload
    return Decision(
        allowed=d["allowed"],
        verified=d["verified"],
        rule=d["rule"],
        action=Action(d["action"]),
        reference=d["reference"],
        message=d["message"],
        trace=checks(d["trace"]),
    )


def _package(value: dict[str, Any]) -> SbomPackage:
    return SbomPackage(name=value["name"], version=value["version"], purl=value["purl"])


def sbom(value: Any) -> Sbom:
    answer = result(value, "sbom")
    if not answer.ok:
        raise SbomError(answer.payload)
    s = answer.payload
    return Sbom(
        predicate_type=s["predicate-type"],
        packages=tuple(_package(p) for p in s["packages"]),
    )


def findings(value: Any) -> list[Finding]:
    answer = result(value, "affected")
    if not answer.ok:
        raise SbomError(answer.payload)
    return [
        Finding(package=_package(f["package"]), advisory=f["advisory"], fixed=f["fixed"])
        for f in answer.payload
    ]


def signature(signature: Signature) -> Case:
    if isinstance(signature, ReferrerBundle):
        return Case("referrer-bundle", (signature.manifest_digest, as_text(signature.bundle)))
    if isinstance(signature, TagBundle):
        return Case("tag-bundle", as_text(signature.bundle))
    if isinstance(signature, LegacySignature):
        pairs = signature.annotations
        items = pairs.items() if hasattr(pairs, "items") else pairs
        annotations = [(str(k), str(v)) for k, v in items]
        return Case(
            "legacy",
            Record((("payload", as_text(signature.payload)), ("annotations", annotations))),
        )
    raise TypeError(f"not a sigward signature: {signature!r}")


def signer(signer: Signer) -> Case:
    if isinstance(signer, KeylessIdentity):
        return Case(
            "keyless",
            Record(
                (
                    ("issuer", signer.issuer),
                    ("subject", Option(signer.subject)),
                    ("subject-regex", Option(signer.subject_regex)),
                )
            ),
        )
    if isinstance(signer, PublicKey):
        return Case("public-key", signer.pem)
    raise TypeError(f"not a sigward signer: {signer!r}")


def artifact(artifact: Artifact | bytes) -> Case:
    if isinstance(artifact, (bytes, bytearray, memoryview)):
        return Case("bytes", bytes(artifact))
    if not isinstance(artifact, Artifact):
        raise TypeError(f"not a sigward artifact: {artifact!r}")
    given = [
        (tag, v)
        for tag, v in (
            ("bytes", artifact.data),
            ("sha256", artifact.sha256),
            ("sha512", artifact.sha512),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError("an Artifact is its bytes or one digest")
    tag, value = given[0]
    return Case(tag, bytes(value) if tag == "bytes" else str(value))
