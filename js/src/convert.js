// Between jco's values (WIT shapes: `{tag, val}` variants, `undefined` for
// none) and this package's: `null` for none, classes for signers.
import { InvalidReference, VerifyError } from "./errors.js";
import {
  Artifact,
  KeylessIdentity,
  LegacySignature,
  PublicKey,
  ReferrerBundle,
  TagBundle,
  text,
} from "./types.js";

const orNull = (value) => (value === undefined ? null : value);

export const diagnostics = (list) =>
  list.map((d) => Object.freeze({ rule: orNull(d.rule), field: d.field, message: d.message }));

export const checks = (trace) =>
  Object.freeze(trace.map((c) => Object.freeze({ name: c.name, outcome: c.outcome, detail: c.detail })));

function evidence(value) {
  if (value === undefined) return null;
  if (value.tag === "keyless") {
    const { issuer, subject, subjectRegex } = value.val;
    return new KeylessIdentity({ issuer, subject: orNull(subject), subjectRegex: orNull(subjectRegex) });
  }
  return new PublicKey(value.val);
}

export const match = (m) =>
  Object.freeze({
    reference: m.reference,
    digest: orNull(m.digest),
    rule: orNull(m.rule),
    action: m.action,
    evidence: evidence(m.evidence),
    message: m.message,
  });

export const decision = (d) =>
  Object.freeze({
    allowed: d.allowed,
    verified: d.verified,
    rule: orNull(d.rule),
    action: d.action,
    reference: d.reference,
    message: d.message,
    trace: checks(d.trace),
  });

export function verifyError(error) {
  if (error.tag === "invalid-reference") throw new InvalidReference(error.val.image, error.val.message);
  throw new VerifyError(error.tag, error.val);
}

const keyless = (identity) => ({
  issuer: identity.issuer,
  subject: identity.subject ?? undefined,
  subjectRegex: identity.subjectRegex ?? undefined,
});

export function signature(s) {
  if (s instanceof ReferrerBundle) return { tag: "referrer-bundle", val: [s.manifestDigest, text(s.bundle)] };
  if (s instanceof TagBundle) return { tag: "tag-bundle", val: text(s.bundle) };
  if (s instanceof LegacySignature) {
    const pairs =
      s.annotations instanceof Map || Array.isArray(s.annotations)
        ? [...s.annotations]
        : Object.entries(s.annotations);
    return {
      tag: "legacy",
      val: { payload: text(s.payload), annotations: pairs.map(([k, v]) => [String(k), String(v)]) },
    };
  }
  throw new TypeError(`not a sigward signature: ${s}`);
}

export function signer(s) {
  if (s instanceof KeylessIdentity) return { tag: "keyless", val: keyless(s) };
  if (s instanceof PublicKey) return { tag: "public-key", val: s.pem };
  throw new TypeError(`not a sigward signer: ${s}`);
}

export function artifact(a) {
  if (a instanceof Uint8Array || a instanceof ArrayBuffer) return { tag: "bytes", val: new Uint8Array(a) };
  if (a instanceof Artifact) return { tag: a.tag, val: a.val };
  throw new TypeError(`not a sigward artifact: ${a}`);
}
