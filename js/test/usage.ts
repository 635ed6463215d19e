// Type-checked by test/packaging.test.mjs: the API as a TypeScript user writes it.
import {
  Artifact,
  BundleError,
  type Decision,
  KeylessIdentity,
  Policy,
  PolicyError,
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
