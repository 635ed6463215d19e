// What sigward throws. Every error is a refusal: admit nothing on one.

/** Base of every sigward error. */
export class SigwardError extends Error {
  get name() {
    return this.constructor.name;
  }
}

const listed = (diagnostics) =>
  diagnostics
    .map(
      (d) =>
        `${d.rule === null ? "document" : `rule ${d.rule}`}: ${d.field ? `${d.field}: ` : ""}${d.message}`,
    )
    .join("; ");

/** The policy does not load; `diagnostics` lists every error found. */
export class PolicyError extends SigwardError {
  constructor(diagnostics) {
    super(`the policy does not load: ${listed(diagnostics)}`);
    this.diagnostics = diagnostics;
  }
}

/** The trusted root does not load; `diagnostics` lists every problem found. */
export class TrustedRootError extends SigwardError {
  constructor(diagnostics) {
    super(`the trusted root does not load: ${listed(diagnostics)}`);
    this.diagnostics = diagnostics;
  }
}

/**
 * No decision could be made; the image must be refused. `kind` is
 * `invalid-reference`, `limit-exceeded` or `not-implemented`.
 */
export class VerifyError extends SigwardError {
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.kind = kind;
    this.detail = message;
  }
}

/** The image reference is invalid (or, to verify, carries no digest). */
export class InvalidReference extends VerifyError {
  constructor(image, message) {
    super("invalid-reference", message);
    this.image = image;
  }
}

/** A bundle did not verify: `check` failed, after the checks in `trace` held. */
export class BundleError extends SigwardError {
  constructor(check, message, trace) {
    super(`${check}: ${message}`);
    this.check = check;
    this.detail = message;
    this.trace = trace;
  }
}

/**
 * No SBOM attestation of the image verifies, or the advisories do not read;
 * `detail` says why.
 */
export class SbomError extends SigwardError {
  constructor(message) {
    super(message);
    this.detail = message;
  }
}

/** The component stopped (a trap), or an earlier stop left its instance unusable. */
export class ComponentError extends SigwardError {}
