"""Replays `vectors/decisions.jsonl` through the package: each line's answer
in the shape of its `expect` (see `vectors/README.md`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import sigward


def lines(repository: Path) -> list[dict[str, Any]]:
    with open(repository / "vectors" / "decisions.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def data(value: dict[str, Any], shared: Path) -> bytes:
    if "shared" in value:
        return (shared / value["shared"]).read_bytes()
    return base64.b64decode(value["base64"])


def signature(value: dict[str, Any]) -> sigward.Signature:
    if "legacy" in value:
        legacy = value["legacy"]
        return sigward.LegacySignature(
            payload=base64.b64decode(legacy["payload"]),
            annotations=[(a["name"], a["value"]) for a in legacy["annotations"]],
        )
    if "referrer_bundle" in value:
        referrer = value["referrer_bundle"]
        return sigward.ReferrerBundle(referrer["digest"], base64.b64decode(referrer["bundle"]))
    return sigward.TagBundle(base64.b64decode(value["tag_bundle"]))


def package(p: sigward.SbomPackage) -> list[str | None]:
    return [p.name, p.version, p.purl]


def checks(trace: tuple[sigward.Check, ...]) -> list[list[str]]:
    return [[c.name, c.outcome.value] for c in trace]


class Replay:
    """Keeps each policy and root loaded across lines, as a host would."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.policies: dict[str, sigward.Policy | int] = {}
        self.roots: dict[str, sigward.TrustedRoot | int] = {}

    def root(self, value: dict[str, Any]) -> sigward.TrustedRoot | int:
        key = json.dumps(value, sort_keys=True)
        if key not in self.roots:
            try:
                self.roots[key] = sigward.TrustedRoot.parse(data(value, self.shared))
            except sigward.TrustedRootError as e:
                self.roots[key] = len(e.diagnostics)
        return self.roots[key]

    def policy(self, text: str) -> sigward.Policy | int:
        if text not in self.policies:
            try:
                self.policies[text] = sigward.Policy.parse(text)
            except sigward.PolicyError as e:
                self.policies[text] = len(e.diagnostics)
        return self.policies[text]

    def answer(self, line: dict[str, Any]) -> dict[str, Any]:
        kind = line["kind"]
        if kind == "bundle":
            return self.bundle(line)
        policy = self.policy(line["policy"])
        if isinstance(policy, int):
            return {"policy_errors": policy}
        root = self.root(line["trusted_root"])
        if isinstance(root, int):
            return {"trusted_root_errors": root}
        if kind in ("decision", "attested"):
            return self.decision(policy, root, line)
        attestations = [signature(a) for a in line["attestations"]]
        try:
            if kind == "sbom":
                found = policy.sbom(line["image"], attestations, root, line["now"])
                return {
                    "predicate_type": found.predicate_type,
                    "packages": [package(p) for p in found.packages],
                }
            if kind == "affected":
                findings = policy.affected(
                    line["image"], attestations, root, line["advisories"], line["now"]
                )
                return {"findings": [[package(f.package), f.advisory, f.fixed] for f in findings]}
        except sigward.SbomError as e:
            return {"error": e.message}
        raise ValueError(f"a vector of unknown kind {kind!r}")

    def decision(
        self, policy: sigward.Policy, root: sigward.TrustedRoot, line: dict[str, Any]
    ) -> dict[str, Any]:
        signatures = [signature(s) for s in line["signatures"]]
        try:
            if line["kind"] == "attested":
                attestations = [signature(a) for a in line["attestations"]]
                d = policy.verify_attested(
                    line["image"], signatures, attestations, root, line["now"]
                )
            else:
                d = policy.verify(line["image"], signatures, root)
        except sigward.VerifyError as e:
            return {"error": e.kind, "message": e.message}
        return {
            "allowed": d.allowed,
            "verified": d.verified,
            "rule": d.rule,
            "action": d.action.value,
            "reference": d.reference,
            "message": d.message,
            "checks": checks(d.trace),
        }

    def bundle(self, line: dict[str, Any]) -> dict[str, Any]:
        root = self.root(line["trusted_root"])
        if isinstance(root, int):
            return {"trusted_root_errors": root}
        given = line["artifact"]
        artifact = (
            sigward.Artifact.from_sha256(given["sha256"])
            if "sha256" in given
            else sigward.Artifact.from_bytes(data(given, self.shared))
        )
        signer_line = line["signer"]
        signer: sigward.Signer
        if "public_key" in signer_line:
            signer = sigward.PublicKey(data(signer_line["public_key"], self.shared).decode())
        else:
            signer = sigward.KeylessIdentity(
                signer_line["issuer"], signer_line.get("subject"), signer_line.get("subject_regex")
            )
        bundle = data(line["bundle"], self.shared)
        try:
            trace = sigward.verify_bundle(bundle, artifact, signer, root)
        except sigward.BundleError as e:
            return {
                "verified": False,
                "check": e.check,
                "message": e.message,
                "checks": checks(e.trace),
            }
        return {"verified": True, "checks": checks(trace)}
