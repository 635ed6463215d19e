"""A Talos `ImageVerificationConfig` policy in its own component instance."""

from __future__ import annotations

from collections.abc import Iterable

from wasmtime.component import ResourceAny

from . import _convert
from ._component import Instance, Limits
from .errors import PolicyError
from .trusted_root import TrustedRoot
from .types import Decision, Diagnostic, Match, Signature

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
