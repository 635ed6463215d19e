// sigward: decides whether a container image may run. The types of
// src/index.js; they mirror the WIT contract (wit/sigward.wit,
// sigward:verifier@0.5.0), with `null` where it has `none`.

/** The interface this package speaks. */
export const INTERFACE: "sigward:verifier/engine@0.5.0";

/** What a matched rule tells the caller to do. */
export type Action = "verify" | "skip" | "deny" | "none";

/** The outcome of one check. */
export type Outcome = "passed" | "failed" | "skipped";

/** A problem found in a policy or trusted root, tied to where it was found. */
export interface Diagnostic {
  /** 0-based index of the rule; null for the document itself. */
  readonly rule: number | null;
  /** Field path, such as `keyless.subjectRegex`. */
  readonly field: string;
  readonly message: string;
}

/** One line of a decision's trace. */
export interface Check {
  /** Name of the check, such as `policy.match` or `tlog.set`. */
  readonly name: string;
  readonly outcome: Outcome;
  /** What it expected and what it found. */
  readonly detail: string;
}

/** A Fulcio certificate identity: the issuer, and the subject or a regex over it. */
export class KeylessIdentity {
  constructor(identity: { issuer: string; subject?: string | null; subjectRegex?: string | null });
  readonly issuer: string;
  readonly subject: string | null;
  readonly subjectRegex: string | null;
}

/** A signing key, as PEM. */
export class PublicKey {
  constructor(pem: string);
  readonly pem: string;
}

/** Who must have signed. */
export type Signer = KeylessIdentity | PublicKey;

/** JSON text, or its bytes (bytes that are not UTF-8 fail their checks). */
export type Document = string | Uint8Array;

/** A Sigstore bundle found as an OCI referrer of the image. */
export class ReferrerBundle {
  constructor(manifestDigest: string, bundle: Document);
  /** The digest of the referrer manifest, as `sha256:<hex>`. */
  readonly manifestDigest: string;
  readonly bundle: Document;
}

/** A Sigstore bundle found under the image's `sha256-<hex>` tag. */
export class TagBundle {
  constructor(bundle: Document);
  readonly bundle: Document;
}

/** A legacy cosign signature: one layer of the `sha256-<hex>.sig` image. */
export class LegacySignature {
  constructor(
    payload: Document,
    annotations?: Record<string, string> | Map<string, string> | Iterable<[string, string]>,
  );
  /** The simple-signing JSON, exactly as stored. */
  readonly payload: Document;
  readonly annotations: Record<string, string> | Map<string, string> | Iterable<[string, string]>;
}

export type Signature = ReferrerBundle | TagBundle | LegacySignature;

/** What a bundle was signed over: the bytes, or only their digest (hex). */
export class Artifact {
  private constructor();
  static fromBytes(bytes: Uint8Array | ArrayBuffer): Artifact;
  /** Only the SHA-256 digest, as 64 hex digits. */
  static fromSha256(hex: string): Artifact;
  /** Only the SHA-512 digest, as 128 hex digits: an in-toto subject only. */
  static fromSha512(hex: string): Artifact;
}

/** Which rule matches an image, and what it asks for. */
export interface Match {
  /** The normalized repository, such as `docker.io/library/nginx`. */
  readonly reference: string;
  /** The digest the reference carried, as `sha256:<hex>`. */
  readonly digest: string | null;
  /** 0-based index of the first matching rule; null when nothing matched. */
  readonly rule: number | null;
  readonly action: Action;
  /** What a `verify` action needs; null for the other actions. */
  readonly evidence: Signer | null;
  /** The Talos message for skip, deny and no match; empty for verify. */
  readonly message: string;
}

/** The final answer for one image. */
export interface Decision {
  /** Whether the image may run. */
  readonly allowed: boolean;
  /** Whether a signature was verified for it. */
  readonly verified: boolean;
  readonly rule: number | null;
  readonly action: Action;
  /** The digested image reference the decision is about. */
  readonly reference: string;
  /** The Talos message for this outcome. */
  readonly message: string;
  /** Every check made, in order. */
  readonly trace: readonly Check[];
}

/** A time: a Date, or Unix seconds. */
export type Time = Date | number | bigint;

/** One package of an SBOM, as the SBOM names it. */
export interface SbomPackage {
  readonly name: string;
  readonly version: string;
  /** Its package URL, such as `pkg:npm/lodash@4.17.20`, when given. */
  readonly purl: string | null;
}

/** An image's SBOM, from a verified SPDX or CycloneDX attestation. */
export interface Sbom {
  /** `https://spdx.dev/Document` or `https://cyclonedx.org/bom`. */
  readonly predicateType: string;
  readonly packages: readonly SbomPackage[];
}

/** A package of a verified SBOM that an OSV advisory affects. */
export interface Finding {
  readonly package: SbomPackage;
  /** The advisory's id, such as `GHSA-35jh-r3h4-6jhm`. */
  readonly advisory: string;
  /** The first version the advisory says is fixed after this one. */
  readonly fixed: string | null;
}

/** The Sigstore `TrustedRoot`: Fulcio CAs, Rekor and CT log keys, TSAs. */
export class TrustedRoot {
  private constructor();
  /** Parses `trusted_root.json`; throws `TrustedRootError`. */
  static parse(data: Document): TrustedRoot;
}

/** A policy, parsed and validated once in its own instance, then reused for every image. */
export class Policy {
  private constructor();
  /** Parses a Talos `ImageVerificationConfig`, YAML or JSON; throws `PolicyError`. */
  static parse(text: string): Policy;
  /** Problems that do not stop the policy from loading. */
  readonly warnings: Diagnostic[];
  readonly ruleCount: number;
  /** The first rule matching `image`; throws `InvalidReference`. */
  match(image: string): Match;
  /** Decides on a digested image; throws `VerifyError` when no decision can be made. */
  verify(image: string, signatures: Iterable<Signature>, root: TrustedRoot): Decision;
  /**
   * The predicate types (full URIs) the rule at index `rule` requires:
   * sigward's `attestations` extension. Empty when none, or no such rule.
   */
  attestationTypes(rule: number): string[];
  /**
   * Decides as `verify` does, then checks the attestations the matched rule
   * requires. `now` (for `maxAge`): a Date or Unix seconds; the clock if left out.
   */
  verifyAttested(
    image: string,
    signatures: Iterable<Signature>,
    attestations: Iterable<Signature>,
    root: TrustedRoot,
    now?: Time,
  ): Decision;
  /**
   * Whether the rule at index `rule` gates on advisories: sigward's
   * `advisories` extension. False when not, or no such rule.
   */
  gatesOnAdvisories(rule: number): boolean;
  /**
   * Decides as `verifyAttested` does, then, for a rule that gates on
   * advisories, matches its verified SBOM against `advisories` (OSV JSON).
   */
  verifyWithAdvisories(
    image: string,
    signatures: Iterable<Signature>,
    attestations: Iterable<Signature>,
    root: TrustedRoot,
    advisories: Iterable<Document>,
    now?: Time,
  ): Decision;
  /** The packages of the image's verified SBOM; throws `SbomError`. */
  sbom(image: string, attestations: Iterable<Signature>, root: TrustedRoot, now?: Time): Sbom;
  /** The packages of that SBOM the OSV advisories affect; throws `SbomError`. */
  affected(
    image: string,
    attestations: Iterable<Signature>,
    root: TrustedRoot,
    advisories: Iterable<Document>,
    now?: Time,
  ): readonly Finding[];
}

/**
 * Verifies one Sigstore bundle (JSON, v0.1 to v0.3) over an artifact; returns
 * the checks that held, or throws `BundleError` naming the one that failed.
 */
export function verifyBundle(
  bundle: Document,
  artifact: Artifact | Uint8Array | ArrayBuffer,
  signer: Signer,
  root: TrustedRoot,
): readonly Check[];

/** Base of every sigward error. */
export class SigwardError extends Error {}
/** The policy does not load. */
export class PolicyError extends SigwardError {
  readonly diagnostics: Diagnostic[];
}
/** The trusted root does not load. */
export class TrustedRootError extends SigwardError {
  readonly diagnostics: Diagnostic[];
}
/** No decision could be made; the image must be refused. */
export class VerifyError extends SigwardError {
  readonly kind: "invalid-reference" | "limit-exceeded" | "not-implemented";
  readonly detail: string;
}
/** The image reference is invalid (or, to verify, carries no digest). */
export class InvalidReference extends VerifyError {
  readonly image: string;
}
/** A bundle did not verify. */
export class BundleError extends SigwardError {
  readonly check: string;
  readonly detail: string;
  readonly trace: readonly Check[];
}
/** No SBOM attestation of the image verifies, or the advisories do not read. */
export class SbomError extends SigwardError {
  readonly detail: string;
}
/** The component stopped (a trap), or an earlier stop left its instance unusable. */
export class ComponentError extends SigwardError {}
