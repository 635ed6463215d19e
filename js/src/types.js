// The values sigward takes, as small classes; see index.d.ts for their types.

const decoder = new TextDecoder("utf-8"); // not fatal: U+FFFD for invalid sequences

/**
 * JSON is UTF-8 text: a string is passed as it is; bytes that are not UTF-8
 * are passed with U+FFFD in place, and then fail their checks.
 */
export const text = (document) => (typeof document === "string" ? document : decoder.decode(document));

/** A Fulcio certificate identity: the issuer, and the subject or a regex over it. */
export class KeylessIdentity {
  constructor({ issuer, subject = null, subjectRegex = null }) {
    Object.assign(this, { issuer, subject, subjectRegex });
    Object.freeze(this);
  }
}

/** A signing key, as PEM. */
export class PublicKey {
  constructor(pem) {
    this.pem = pem;
    Object.freeze(this);
  }
}

/** A Sigstore bundle found as an OCI referrer of the image. */
export class ReferrerBundle {
  constructor(manifestDigest, bundle) {
    Object.assign(this, { manifestDigest, bundle });
    Object.freeze(this);
  }
}

/** A Sigstore bundle found under the image's `sha256-<hex>` tag. */
export class TagBundle {
  constructor(bundle) {
    this.bundle = bundle;
    Object.freeze(this);
  }
}

/** A legacy cosign signature: one layer of the `sha256-<hex>.sig` image. */
export class LegacySignature {
  constructor(payload, annotations = {}) {
    Object.assign(this, { payload, annotations });
    Object.freeze(this);
  }
}

/** What a bundle was signed over: the bytes, or only their digest (hex). */
export class Artifact {
  constructor(tag, val) {
    Object.assign(this, { tag, val });
    Object.freeze(this);
  }
  /** The artifact itself. */
  static fromBytes(bytes) {
    return new Artifact("bytes", new Uint8Array(bytes));
  }
  /** Only the SHA-256 digest, as 64 hex digits. */
  static fromSha256(hex) {
    return new Artifact("sha256", hex);
  }
  /** Only the SHA-512 digest, as 128 hex digits (an in-toto subject only). */
  static fromSha512(hex) {
    return new Artifact("sha512", hex);
  }
}
