// Replays vectors/decisions.jsonl through the package: each line's answer
// in the shape of its `expect` (see vectors/README.md).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as sigward from "../src/index.js";

export const repository = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** `../shared` beside the checkout (or `$SIGWARD_SHARED`); its absence fails the tests. */
export function sharedDir() {
  const path = process.env.SIGWARD_SHARED ?? join(dirname(repository), "shared");
  if (!existsSync(join(path, "SPEC.md"))) {
    throw new Error(`the shared data is missing: ${path} (CI puts it beside the checkout)`);
  }
  return path;
}

export const lines = () =>
  readFileSync(join(repository, "vectors", "decisions.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

export const data = (value, shared) =>
  "shared" in value ? readFileSync(join(shared, value.shared)) : Buffer.from(value.base64, "base64");

export function signature(value) {
  if (value.legacy) {
    const { payload, annotations } = value.legacy;
    return new sigward.LegacySignature(
      Buffer.from(payload, "base64"),
      annotations.map((a) => [a.name, a.value]),
    );
  }
  if (value.referrer_bundle) {
    const { digest, bundle } = value.referrer_bundle;
    return new sigward.ReferrerBundle(digest, Buffer.from(bundle, "base64"));
  }
  return new sigward.TagBundle(Buffer.from(value.tag_bundle, "base64"));
}

const sbomPackage = (p) => [p.name, p.version, p.purl];

const checks = (trace) => trace.map((c) => [c.name, c.outcome]);

/** Keeps each policy and root loaded across lines, as a host would. */
export class Replay {
  constructor(shared) {
    this.shared = shared;
    this.policies = new Map();
    this.roots = new Map();
  }

  root(value) {
    const key = JSON.stringify(value);
    if (!this.roots.has(key)) {
      try {
        this.roots.set(key, sigward.TrustedRoot.parse(data(value, this.shared)));
      } catch (e) {
        if (!(e instanceof sigward.TrustedRootError)) throw e;
        this.roots.set(key, e.diagnostics.length);
      }
    }
    return this.roots.get(key);
  }

  policy(text) {
    if (!this.policies.has(text)) {
      try {
        this.policies.set(text, sigward.Policy.parse(text));
      } catch (e) {
        if (!(e instanceof sigward.PolicyError)) throw e;
        this.policies.set(text, e.diagnostics.length);
      }
    }
    return this.policies.get(text);
  }

  answer(line) {
    if (line.kind === "bundle") return this.bundle(line);
    const policy = this.policy(line.policy);
    if (typeof policy === "number") return { policy_errors: policy };
    const root = this.root(line.trusted_root);
    if (typeof root === "number") return { trusted_root_errors: root };
    if (line.kind === "decision" || line.kind === "attested") return this.decision(policy, root, line);
    const attestations = line.attestations.map(signature);
    try {
      if (line.kind === "sbom") {
        const found = policy.sbom(line.image, attestations, root, line.now);
        return { predicate_type: found.predicateType, packages: found.packages.map(sbomPackage) };
      }
      if (line.kind === "affected") {
        const found = policy.affected(line.image, attestations, root, line.advisories, line.now);
        return { findings: found.map((f) => [sbomPackage(f.package), f.advisory, f.fixed]) };
      }
    } catch (e) {
      if (!(e instanceof sigward.SbomError)) throw e;
      return { error: e.detail };
    }
    throw new Error(`a vector of unknown kind ${line.kind}`);
  }

  decision(policy, root, line) {
    const signatures = line.signatures.map(signature);
    let d;
    try {
      d =
        line.kind === "attested"
          ? policy.verifyAttested(line.image, signatures, line.attestations.map(signature), root, line.now)
          : policy.verify(line.image, signatures, root);
    } catch (e) {
      if (!(e instanceof sigward.VerifyError)) throw e;
      return { error: e.kind, message: e.detail };
    }
    return {
      allowed: d.allowed,
      verified: d.verified,
      rule: d.rule,
      action: d.action,
      reference: d.reference,
      message: d.message,
      checks: checks(d.trace),
    };
  }

  bundle(line) {
    const root = this.root(line.trusted_root);
    if (typeof root === "number") return { trusted_root_errors: root };
    const artifact =
      "sha256" in line.artifact
        ? sigward.Artifact.fromSha256(line.artifact.sha256)
        : sigward.Artifact.fromBytes(data(line.artifact, this.shared));
    const signer = line.signer.public_key
      ? new sigward.PublicKey(data(line.signer.public_key, this.shared).toString("utf8"))
      : new sigward.KeylessIdentity({
          issuer: line.signer.issuer,
          subject: line.signer.subject,
          subjectRegex: line.signer.subject_regex,
        });
    try {
      const trace = sigward.verifyBundle(data(line.bundle, this.shared), artifact, signer, root);
      return { verified: true, checks: checks(trace) };
    } catch (e) {
      if (!(e instanceof sigward.BundleError)) throw e;
      return { verified: false, check: e.check, message: e.detail, checks: checks(e.trace) };
    }
  }
}
