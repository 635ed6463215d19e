// sigward: decides whether a container image may run.
//
// The same WebAssembly component as the `sigward` CLI and admission webhook
// (its portable build, transpiled by jco): a Talos `ImageVerificationConfig`
// policy, the signatures a caller fetched and a Sigstore trusted root in; a
// decision with its trace out. Nothing is fetched, and no clock is read
// (an attestation's `maxAge` is judged at the time the caller gives).
import { Instance } from "./component.js";
import * as convert from "./convert.js";
import { BundleError, PolicyError, TrustedRootError } from "./errors.js";
import { text } from "./types.js";

export { INTERFACE } from "./component.js";
export * from "./errors.js";
export { Artifact, KeylessIdentity, LegacySignature, PublicKey, ReferrerBundle, TagBundle } from "./types.js";

let shared = null;
/** The instance that checks trusted roots and verifies lone bundles. */
function sharedInstance() {
  if (!shared || shared.poisoned) shared = new Instance();
  return shared;
}

/** The Sigstore `TrustedRoot`: Fulcio CAs, Rekor and CT log keys, TSAs. */
export class TrustedRoot {
  #text;
  #handles = new WeakMap();

  constructor(secret, json, instance, handle) {
    if (secret !== TrustedRoot.#secret) throw new TypeError("use TrustedRoot.parse");
    this.#text = json;
    this.#handles.set(instance, handle);
  }

  static #secret = Symbol("TrustedRoot");

  /** Parses `trusted_root.json` (string or bytes); throws `TrustedRootError`. */
  static parse(data) {
    const json = text(data);
    const instance = sharedInstance();
    const handle = parseRoot(instance, json);
    return new TrustedRoot(TrustedRoot.#secret, json, instance, handle);
  }

  /** This root in `instance`, parsed there on first use. */
  handleIn(instance) {
    let handle = this.#handles.get(instance);
    if (!handle) {
      handle = parseRoot(instance, this.#text);
      this.#handles.set(instance, handle);
    }
    return handle;
  }
}

function parseRoot(instance, json) {
  return instance.call(
    (engine) => engine.TrustedRoot.parse(json),
    (errors) => {
      throw new TrustedRootError(convert.diagnostics(errors));
    },
  );
}

/** A policy, parsed and validated once in its own instance, then reused for every image. */
export class Policy {
  #instance;
  #policy;

  constructor(secret, instance, policy) {
    if (secret !== Policy.#secret) throw new TypeError("use Policy.parse");
    this.#instance = instance;
    this.#policy = policy;
  }

  static #secret = Symbol("Policy");

  /** Parses a policy, YAML or JSON; throws `PolicyError` with every error found. */
  static parse(text) {
    const instance = new Instance();
    const policy = instance.call(
      (engine) => engine.Policy.parse(text),
      (errors) => {
        throw new PolicyError(convert.diagnostics(errors));
      },
    );
    return new Policy(Policy.#secret, instance, policy);
  }

  /** Problems that do not stop the policy from loading. */
  get warnings() {
    return convert.diagnostics(this.#instance.call(() => this.#policy.warnings()));
  }

  get ruleCount() {
    return this.#instance.call(() => this.#policy.ruleCount());
  }

  /** The first rule matching `image`; throws `InvalidReference`. */
  match(image) {
    return this.#instance.call(
      () => convert.match(this.#policy.matchImage(image)),
      (error) => convert.verifyError({ tag: "invalid-reference", val: error }),
    );
  }

  /**
   * Decides on a digested image from the signatures found for it. Throws
   * `VerifyError` (`InvalidReference` among them) when no decision can be
   * made: the image must then be refused.
   */
  verify(image, signatures, root) {
    const lowered = [...signatures].map(convert.signature);
    const handle = root.handleIn(this.#instance);
    return this.#instance.call(
      () => convert.decision(this.#policy.verify(image, lowered, handle)),
      convert.verifyError,
    );
  }

  /**
   * The predicate types (full URIs) the rule at index `rule` requires, in
   * order: sigward's `attestations` extension. Empty when it requires none
   * or there is no such rule; fetch attestations only when not.
   */
  attestationTypes(rule) {
    if (!Number.isInteger(rule) || rule < 0 || rule >= 2 ** 32) return [];
    return this.#instance.call(() => this.#policy.attestationTypes(rule));
  }

  /**
   * Decides as `verify` does, then checks every attestation the matched rule
   * requires against `attestations` (bundles, or `.att` layers as
   * `LegacySignature`). `now` is the time `maxAge` is judged at: a `Date` or
   * Unix seconds; this machine's clock when left out.
   */
  verifyAttested(image, signatures, attestations, root, now) {
    const args = [image, [...signatures].map(convert.signature), [...attestations].map(convert.signature)];
    const handle = root.handleIn(this.#instance);
    const time = convert.seconds(now);
    return this.#instance.call(
      () => convert.decision(this.#policy.verifyAttested(...args, handle, time)),
      convert.verifyError,
    );
  }

  /**
   * Whether the rule at index `rule` gates on advisories: sigward's
   * `advisories` extension. Give such a rule the advisories held, with
   * `verifyWithAdvisories`; `verifyAttested` refuses it.
   */
  gatesOnAdvisories(rule) {
    if (!Number.isInteger(rule) || rule < 0 || rule >= 2 ** 32) return false;
    return this.#instance.call(() => this.#policy.gatesOnAdvisories(rule));
  }

  /**
   * Decides as `verifyAttested` does; then, when the matched rule gates on
   * advisories, matches the SBOM its attestations proved against
   * `advisories` (OSV JSON, one per item: the records held now) and refuses
   * the image when one the rule denies affects a package.
   */
  verifyWithAdvisories(image, signatures, attestations, root, advisories, now) {
    const args = [image, [...signatures].map(convert.signature), [...attestations].map(convert.signature)];
    const osv = [...advisories].map(text);
    const handle = root.handleIn(this.#instance);
    const time = convert.seconds(now);
    return this.#instance.call(
      () => convert.decision(this.#policy.verifyWithAdvisories(...args, handle, time, osv)),
      convert.verifyError,
    );
  }

  /**
   * The packages of the digested image's SBOM: an SPDX or CycloneDX
   * attestation, verified for the signer of the rule the image matches.
   * Throws `SbomError` saying why none verifies.
   */
  sbom(image, attestations, root, now) {
    const lowered = [...attestations].map(convert.signature);
    const handle = root.handleIn(this.#instance);
    const time = convert.seconds(now);
    return this.#instance.call(
      () => convert.sbom(this.#policy.sbom(image, lowered, handle, time)),
      convert.sbomError,
    );
  }

  /**
   * The packages of the image's verified SBOM (as `sbom` finds it) that the
   * OSV advisories (JSON, one per item) affect. Throws `SbomError`.
   */
  affected(image, attestations, root, advisories, now) {
    const lowered = [...attestations].map(convert.signature);
    const osv = [...advisories].map(text);
    const handle = root.handleIn(this.#instance);
    const time = convert.seconds(now);
    return this.#instance.call(
      () => convert.findings(this.#policy.affected(image, lowered, handle, time, osv)),
      convert.sbomError,
    );
  }
}

/**
 * Verifies one Sigstore bundle (JSON, v0.1 to v0.3) over an artifact and
 * returns the checks that held; throws `BundleError` naming the one that failed.
 */
export function verifyBundle(bundle, artifact, signer, root) {
  const instance = sharedInstance();
  const args = [text(bundle), convert.artifact(artifact), convert.signer(signer)];
  const handle = root.handleIn(instance);
  return instance.call(
    (engine) => convert.checks(engine.verifyBundle(...args, handle)),
    (failure) => {
      throw new BundleError(failure.check, failure.message, convert.checks(failure.trace));
    },
  );
}
