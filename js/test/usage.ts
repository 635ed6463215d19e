// Type-checked by test/packaging.test.mjs: the API as a TypeScript user writes it.
import {
  Artifact,
  BundleError,
  type Decision,
  KeylessIdentity,
  Policy,
  PolicyError,
  SbomError,
  type SbomPackage,
  TagBundle,
  TrustedRoot,
  verifyBundle,
} from "sigward";

export function decide(
  policyText: string,
  rootJson: string,
  image: string,
  bundle: string,
): Decision | string {
  let policy: Policy;
  try {
    policy = Policy.parse(policyText);
  } catch (e) {
    if (e instanceof PolicyError) return e.diagnostics.map((d) => `${d.rule ?? "-"} ${d.field}`).join();
    throw e;
  }
  const root = TrustedRoot.parse(rootJson);
  const match = policy.match(image);
  if (match.action !== "verify") return match.message;
  const decision = policy.verify(image, [new TagBundle(bundle)], root);
  const failed: string[] = decision.trace.filter((c) => c.outcome === "failed").map((c) => c.name);
  return failed.length ? failed.join() : decision;
}

export function checkBundle(bundle: Uint8Array, sha256: string, root: TrustedRoot): number {
  try {
    return verifyBundle(
      bundle,
      Artifact.fromSha256(sha256),
      new KeylessIdentity({ issuer: "https://issuer" }),
      root,
    ).length;
  } catch (e) {
    if (e instanceof BundleError) return -e.trace.length;
    throw e;
  }
}

export function attested(policy: Policy, image: string, bundles: string[], root: TrustedRoot): boolean {
  const rule = policy.match(image).rule;
  const attestations = rule === null || policy.attestationTypes(rule).length === 0 ? [] : bundles;
  const found = attestations.map((b) => new TagBundle(b));
  return policy.verifyAttested(image, found, found, root, new Date()).allowed;
}

export function vulnerable(
  policy: Policy,
  image: string,
  found: TagBundle[],
  root: TrustedRoot,
  advisories: string[],
): [SbomPackage[], string[]] | string {
  try {
    const packages = [...policy.sbom(image, found, root).packages];
    const ids = policy.affected(image, found, root, advisories, 1_700_000_000).map((f) => f.advisory);
    return [packages, ids];
  } catch (e) {
    if (e instanceof SbomError) return e.detail;
    throw e;
  }
}
