"""What sigward raises. Every error is a refusal: admit nothing on one."""

from __future__ import annotations

from .types import Check, Diagnostic


class SigwardError(Exception):
    """Base of every sigward error."""


class PolicyError(SigwardError):
    """The policy does not load; `diagnostics` lists every error found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("the policy does not load: " + "; ".join(map(str, diagnostics)))


class TrustedRootError(SigwardError):
    """The trusted root does not load; `diagnostics` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("the trusted root does not load: " + "; ".join(map(str, diagnostics)))


class VerifyError(SigwardError):
    """No decision could be made; the image must be refused.

    `kind` is `invalid-reference`, `limit-exceeded` or `not-implemented`.
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


class InvalidReference(VerifyError):
    """The image reference is invalid (or, to verify, carries no digest)."""

    def __init__(self, image: str, message: str) -> None:
        self.image = image
        super().__init__("invalid-reference", message)


class BundleError(SigwardError):
    """A bundle did not verify: `check` failed, after the checks in `trace` held."""

    def __init__(self, check: str, message: str, trace: tuple[Check, ...]) -> None:
        self.check = check
        self.message = message
        self.trace = trace
        super().__init__(f"{check}: {message}")


class SbomError(SigwardError):
    """No SBOM attestation of the image verifies, or the advisories do not
    read; `message` says why."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ComponentError(SigwardError):
    """The component stopped (a trap, its fuel or its memory ran out), or an
    earlier stop left this instance unusable."""
