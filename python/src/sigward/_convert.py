"""Between wasmtime-py's values and this package's types.

wasmtime-py tags a WIT variant, option or result only when two of its cases
would be the same Python type; otherwise it passes the bare payload. Which it
does follows from the WIT types, so each conversion here is written for the
shape its type has, and refuses anything else.
"""

from __future__ import annotations

from typing import Any

from wasmtime.component import Record, Variant

from .errors import ComponentError, InvalidReference, VerifyError
from .types import (
    Action,
    Artifact,
    Check,
    Decision,
    Diagnostic,
    KeylessIdentity,
    LegacySignature,
    Match,
    Outcome,
    PublicKey,
    ReferrerBundle,
    Signature,
    Signer,
    TagBundle,
    _text,
)


def unexpected(what: str, value: Any) -> ComponentError:
    return ComponentError(f"the component gave {what} an unexpected value: {value!r}")


def result(value: Any, *, is_ok: type | tuple[type, ...]) -> tuple[bool, Any]:
    """A WIT result: tagged `Variant('ok'|'err')`, or untagged when the ok
    payload's Python type (`is_ok`) differs from the error's."""
    if isinstance(value, Variant) and value.tag in ("ok", "err"):
        return value.tag == "ok", value.payload
    return isinstance(value, is_ok), value


def diagnostics(values: Any) -> list[Diagnostic]:
    if not isinstance(values, list):
        raise unexpected("diagnostics", values)
    return [Diagnostic(rule=d.rule, field=d.field, message=d.message) for d in values]


def checks(values: Any) -> tuple[Check, ...]:
    return tuple(Check(name=c.name, outcome=Outcome(c.outcome), detail=c.detail) for c in values)


def keyless_record(identity: KeylessIdentity) -> Record:
    record = Record()
    record.issuer = identity.issuer
    record.subject = identity.subject
    setattr(record, "subject-regex", identity.subject_regex)  # WIT names the fields
    return record


def evidence(value: Any) -> Signer | None:
    # option<variant { keyless(record), public-key(string) }>: all untagged.
    if value is None:
        return None
    if isinstance(value, str):
        return PublicKey(pem=value)
    if isinstance(value, Record):
        return KeylessIdentity(value.issuer, value.subject, getattr(value, "subject-regex"))
    raise unexpected("evidence", value)


def match(value: Any) -> Match:
    # Both cases are records, so wasmtime-py always tags this result.
    ok, payload = result(value, is_ok=())
    if not ok:
        raise InvalidReference(payload.image, payload.message)
    return Match(
        reference=payload.reference,
        digest=payload.digest,
        rule=payload.rule,
        action=Action(payload.action),
        evidence=evidence(payload.evidence),
        message=payload.message,
    )


def decision(value: Any) -> Decision:
    # result<decision (record), verify-error (a tagged variant)>.
    ok, payload = result(value, is_ok=Record)
    if not ok:
        if not isinstance(payload, Variant):
            raise unexpected("verify", payload)
        if payload.tag == "invalid-reference":
            raise InvalidReference(payload.payload.image, payload.payload.message)
        raise VerifyError(payload.tag, payload.payload)
    return Decision(
        allowed=payload.allowed,
        verified=payload.verified,
        rule=payload.rule,
        action=Action(payload.action),
        reference=payload.reference,
        message=payload.message,
        trace=checks(payload.trace),
    )


def signature(signature: Signature) -> Any:
    # variant { referrer-bundle(tuple), tag-bundle(string), legacy(record) }:
    # untagged, told apart by the payload's Python type.
    if isinstance(signature, ReferrerBundle):
        return (signature.manifest_digest, _text(signature.bundle))
    if isinstance(signature, TagBundle):
        return _text(signature.bundle)
    if isinstance(signature, LegacySignature):
        record = Record()
        record.payload = _text(signature.payload)
        pairs = signature.annotations
        items = pairs.items() if hasattr(pairs, "items") else pairs
        record.annotations = [(str(k), str(v)) for k, v in items]
        return record
    raise TypeError(f"not a sigward signature: {signature!r}")


def signer(signer: Signer) -> Any:
    # variant { keyless(record), public-key(string) }: untagged.
    if isinstance(signer, KeylessIdentity):
        return keyless_record(signer)
    if isinstance(signer, PublicKey):
        return signer.pem
    raise TypeError(f"not a sigward signer: {signer!r}")


def artifact(artifact: Artifact | bytes) -> Any:
    # variant { bytes(list<u8>), sha256(string), sha512(string) }: tagged, as
    # two cases are strings.
    if isinstance(artifact, (bytes, bytearray, memoryview)):
        return Variant("bytes", bytes(artifact))
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
    return Variant(*given[0])
