"""A Talos `ImageVerificationConfig` policy in its own component instance."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from wasmtime.component import ResourceAny

from . import _convert
from ._abi import Int
from ._component import Instance, Limits
from .errors import PolicyError
from .trusted_root import TrustedRoot
from .types import Decision, Diagnostic, Finding, Match, Sbom, Signature, as_text

_ROOTS_KEPT = 8


class Policy:
    """A policy, parsed and validated once, then reused for every image.

    Each policy has its own store, with the memory and fuel limits of
    `limits`. Calls on one policy are serialized.
    """

    def __init__(self, instance: Instance, handle: ResourceAny) -> None:
        self._instance = instance
        self._handle = handle
        self._roots: dict[int, tuple[TrustedRoot, ResourceAny]] = {}

    @classmethod
    def parse(cls, text: str, limits: Limits | None = None) -> Policy:
        """Parses a policy, YAML or JSON; raises `PolicyError` with every error found."""
        instance = Instance(limits)
        answer = _convert.result(instance.call("[static]policy.parse", text), "policy.parse")
        if not answer.ok:
            raise PolicyError(_convert.diagnostics(answer.payload))
        return cls(instance, answer.payload)

    @property
    def warnings(self) -> list[Diagnostic]:
        """Problems that do not stop the policy from loading."""
        return _convert.diagnostics(self._instance.call("[method]policy.warnings", self._handle))

    @property
    def rule_count(self) -> int:
        return int(self._instance.call("[method]policy.rule-count", self._handle))

    def match(self, image: str) -> Match:
        """The first rule matching `image`; raises `InvalidReference`."""
        return _convert.match(
            self._instance.call("[method]policy.match-image", self._handle, image)
        )

    def verify(self, image: str, signatures: Iterable[Signature], root: TrustedRoot) -> Decision:
        """Decides on a digested image from the signatures found for it.

        Raises `VerifyError` (`InvalidReference` among them) when no decision
        can be made: the image must then be refused.
        """
        lowered = [_convert.signature(s) for s in signatures]
        value = self._instance.call(
            "[method]policy.verify", self._handle, image, lowered, self._root(root)
        )
        return _convert.decision(value)

    def attestation_types(self, rule: int) -> list[str]:
        """The predicate types (full URIs) the rule at index `rule` requires,
        in order: sigward's `attestations` extension. Empty when it requires
        none or there is no such rule; fetch attestations only when not."""
        if not 0 <= rule < 2**32:
            return []
        return list(
            self._instance.call("[method]policy.attestation-types", self._handle, Int(rule, "u32"))
        )

    def verify_attested(
        self,
        image: str,
        signatures: Iterable[Signature],
        attestations: Iterable[Signature],
        root: TrustedRoot,
        now: int | datetime | None = None,
    ) -> Decision:
        """Decides as `verify` does, then checks every attestation the matched
        rule requires against `attestations` (bundles, or `.att` layers as
        `LegacySignature`). `now` is the time `maxAge` is judged at: Unix
        seconds or an aware datetime; None for this machine's clock."""
        value = self._instance.call(
            "[method]policy.verify-attested",
            self._handle,
            image,
            [_convert.signature(s) for s in signatures],
            [_convert.signature(a) for a in attestations],
            self._root(root),
            _seconds(now),
        )
        return _convert.decision(value, "verify-attested")

    def gates_on_advisories(self, rule: int) -> bool:
        """Whether the rule at index `rule` gates on advisories: sigward's
        `advisories` extension. Give such a rule the advisories held, with
        `verify_with_advisories`; `verify_attested` refuses it."""
        if not 0 <= rule < 2**32:
            return False
        return bool(
            self._instance.call(
                "[method]policy.gates-on-advisories", self._handle, Int(rule, "u32")
            )
        )

    def verify_with_advisories(
        self,
        image: str,
        signatures: Iterable[Signature],
        attestations: Iterable[Signature],
        root: TrustedRoot,
        advisories: Iterable[str | bytes],
        now: int | datetime | None = None,
    ) -> Decision:
        """Decides as `verify_attested` does; then, when the matched rule
        gates on advisories, matches the SBOM its attestations proved against
        `advisories` (OSV JSON, one per item: the records held now) and
        refuses the image when one the rule denies affects a package."""
        value = self._instance.call(
            "[method]policy.verify-with-advisories",
            self._handle,
            image,
            [_convert.signature(s) for s in signatures],
            [_convert.signature(a) for a in attestations],
            self._root(root),
            _seconds(now),
            [as_text(a) for a in advisories],
        )
        return _convert.decision(value, "verify-with-advisories")

    def sbom(
        self,
        image: str,
        attestations: Iterable[Signature],
        root: TrustedRoot,
        now: int | datetime | None = None,
    ) -> Sbom:
        """The packages of the digested image's SBOM: an SPDX or CycloneDX
        attestation, verified for the signer of the rule the image matches.
        Raises `SbomError` saying why none verifies."""
        value = self._instance.call(
            "[method]policy.sbom",
            self._handle,
            image,
            [_convert.signature(a) for a in attestations],
            self._root(root),
            _seconds(now),
        )
        return _convert.sbom(value)

    def affected(
        self,
        image: str,
        attestations: Iterable[Signature],
        root: TrustedRoot,
        advisories: Iterable[str | bytes],
        now: int | datetime | None = None,
    ) -> list[Finding]:
        """The packages of the image's verified SBOM (as `sbom` finds it) that
        the OSV advisories (JSON, one per item) affect. Raises `SbomError`."""
        value = self._instance.call(
            "[method]policy.affected",
            self._handle,
            image,
            [_convert.signature(a) for a in attestations],
            self._root(root),
            _seconds(now),
            [as_text(a) for a in advisories],
        )
        return _convert.findings(value)

    def _root(self, root: TrustedRoot) -> ResourceAny:
        kept = self._roots.get(id(root))
        if kept is not None and kept[0] is root:
            return kept[1]
        if len(self._roots) >= _ROOTS_KEPT:
            _, oldest = self._roots.pop(next(iter(self._roots)))
            self._instance.drop(oldest)
        handle = root._load_into(self._instance)
        self._roots[id(root)] = (root, handle)
        return handle


def _seconds(now: int | datetime | None) -> Int:
    # The guest reads no clock: the time is the host's, passed in.
    if now is None:
        return Int(int(time.time()))
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (a naive one has no zone)")
        return Int(int(now.timestamp()))
    if isinstance(now, bool) or not isinstance(now, int):
        raise TypeError(f"now is Unix seconds or a datetime, not {type(now).__name__}")
    return Int(now)
