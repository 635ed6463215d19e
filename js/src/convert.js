// Between jco's values (WIT shapes: `{tag, val}` variants, `undefined` for
// none) and this package's: `null` for none, classes for signers.
import { InvalidReference, SbomError, VerifyError } from "./errors.js";
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

const sbomPackage = (p) => Object.freeze({ name: p.name, version: p.version, purl: orNull(p.purl) });

export const sbom = (s) =>
  Object.freeze({ predicateType: s.predicateType, packages: Object.freeze(s.packages.map(sbomPackage)) });

export const findings = (list) =>
  Object.freeze(
    list.map((f) =>
      Object.freeze({ package: sbomPackage(f.package), advisory: f.advisory, fixed: orNull(f.fixed) }),
    ),
  );

export function sbomError(message) {
  throw new SbomError(message);
}

const S64 = 2n ** 63n;

/**
 * The host's time for `maxAge`, as the WIT `s64` of Unix seconds: from a
 * `Date`, seconds (a safe integer or a bigint), or this machine's clock
 * when undefined. The guest reads no clock.
 */
export function seconds(now) {
  let value;
  if (now === undefined) value = BigInt(Math.floor(Date.now() / 1000));
  else if (now instanceof Date) {
    const ms = now.getTime();
    if (Number.isNaN(ms)) throw new RangeError("now is an invalid Date");
    value = BigInt(Math.floor(ms / 1000));
  } else if (typeof now === "number") {
    if (!Number.isSafeInteger(now)) throw new RangeError(`now is ${now}, not whole Unix seconds`);
    value = BigInt(now);
  } else if (typeof now === "bigint") value = now;
  else throw new TypeError(`now is a Date or Unix seconds, not ${typeof now}`);
  if (value < -S64 || value >= S64) throw new RangeError(`now is ${value}, out of the range of a WIT s64`);
  return value;
}

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
