// The package's API: plain answers, errors as exceptions, the same shape as
// the Python package's.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isDeepStrictEqual as isEqual } from "node:util";

import * as sigward from "../src/index.js";
import { data, lines, sharedDir, signature } from "./vectors.mjs";

const BEACON =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/" +
  ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB = "https://token.actions.githubusercontent.com";

const POLICY = `apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: registry.k8s.io/pause*
    skip: true
  - image: registry.k8s.io/*
    keyless:
      issuer: https://accounts.google.com
      subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com
  - image: keyed.example/*
    publicKey:
      certificate: |
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqRzoGdyXO9xiXor0SMKlZjUkSInn
        xnxxlPepcH9uPnAInQ/amnfwil+MacNQuwN4ShSlgUEpzlezstLPrUal5A==
        -----END PUBLIC KEY-----
  - image: docker.io/*
    deny: true
`;

const shared = sharedDir();
const productionRoot = () =>
  sigward.TrustedRoot.parse(readFileSync(join(shared, "corpus/root-signing/targets/trusted_root.json")));

test("a bad policy throws every error with its rule and field", () => {
  const text = `${POLICY}  - image: ghcr.io/*\n    keyless:\n      subjectRegex: '(('\n`;
  assert.throws(
    () => sigward.Policy.parse(text),
    (e) => {
      assert.ok(e instanceof sigward.PolicyError);
      const found = e.diagnostics.map((d) => `${d.rule} ${d.field}`);
      assert.ok(found.includes("4 keyless.issuer"), found.join());
      assert.ok(found.includes("4 keyless.subjectRegex"), found.join());
      assert.match(e.message, /rule 4/);
      return true;
    },
  );
});

test("warnings and the rule count", () => {
  const policy = sigward.Policy.parse(POLICY);
  assert.equal(policy.ruleCount, 4);
  assert.deepEqual(policy.warnings, []);
  const unanchored = sigward.Policy.parse(
    "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n" +
      "  - image: ghcr.io/*\n    keyless:\n      issuer: https://issuer.test\n" +
      "      subjectRegex: 'https://github.com/org/'\n",
  );
  const [warning] = unanchored.warnings;
  assert.deepEqual([warning.rule, warning.field], [0, "keyless.subjectRegex"]);
});

test("match gives the rule, the action and the evidence", () => {
  const policy = sigward.Policy.parse(POLICY);
  const skip = policy.match("registry.k8s.io/pause:3.10");
  assert.deepEqual(
    [skip.rule, skip.action, skip.evidence, skip.reference],
    [0, "skip", null, "registry.k8s.io/pause"],
  );
  const keyless = policy.match(`registry.k8s.io/kube-apiserver@sha256:${"ab".repeat(32)}`);
  assert.equal(keyless.digest, `sha256:${"ab".repeat(32)}`);
  assert.ok(keyless.evidence instanceof sigward.KeylessIdentity);
  assert.deepEqual(
    { ...keyless.evidence },
    {
      issuer: "https://accounts.google.com",
      subject: "krel-trust@k8s-releng-prod.iam.gserviceaccount.com",
      subjectRegex: null,
    },
  );
  const keyed = policy.match("keyed.example/app:v1");
  assert.ok(keyed.evidence instanceof sigward.PublicKey);
  assert.match(keyed.evidence.pem, /^-----BEGIN PUBLIC KEY-----/);
  const deny = policy.match("nginx");
  assert.deepEqual([deny.reference, deny.action], ["docker.io/library/nginx", "deny"]);
  const none = policy.match("quay.io/app");
  assert.deepEqual([none.rule, none.action], [null, "none"]);
  assert.throws(
    () => policy.match("Registry.K8s.io/UPPER"),
    (e) => e instanceof sigward.InvalidReference && e.image === "Registry.K8s.io/UPPER",
  );
});

test("verify needs a digest", () => {
  const policy = sigward.Policy.parse(POLICY);
  assert.throws(
    () => policy.verify("registry.k8s.io/kube-apiserver:v1.31.0", [], productionRoot()),
    (e) => e instanceof sigward.InvalidReference && e.kind === "invalid-reference" && /digest/.test(e.detail),
  );
});

test("a demo image verifies with bytes or text; bytes that are not UTF-8 are refused", () => {
  const line = lines()[0];
  assert.equal(line.expect.allowed, true);
  const policy = sigward.Policy.parse(line.policy);
  const root = sigward.TrustedRoot.parse(data(line.trusted_root, shared));
  const found = signature(line.signatures[0]);
  const asText = new sigward.LegacySignature(found.payload.toString("utf8"), new Map(found.annotations));
  for (const given of [found, asText]) {
    const decision = policy.verify(line.image, [given], root);
    assert.ok(decision.allowed && decision.verified);
    assert.ok(decision.trace.every((c) => c.outcome === "passed"));
  }
  const broken = Buffer.concat([Buffer.from([0xff]), found.payload]);
  const refused = policy.verify(line.image, [new sigward.LegacySignature(broken, found.annotations)], root);
  assert.equal(refused.allowed, false);
  assert.equal(refused.trace.at(-1).outcome, "failed");
});

test("a broken trusted root throws its problems", () => {
  assert.throws(
    () => sigward.TrustedRoot.parse("not json"),
    (e) => e instanceof sigward.TrustedRootError && e.diagnostics.length > 0,
  );
});

test("verifyBundle returns the checks or throws the failing one", () => {
  const dir = join(shared, "conformance/bundle-verify");
  const bundle = readFileSync(join(dir, "happy-path-v0.3/bundle.sigstore.json"));
  const artifact = readFileSync(join(dir, "a.txt"));
  const root = productionRoot();
  const signer = new sigward.KeylessIdentity({ issuer: GITHUB, subject: BEACON });
  const trace = sigward.verifyBundle(bundle, artifact, signer, root);
  assert.equal(trace[0].name, "bundle");
  const digest = sigward.Artifact.fromSha256(createHash("sha256").update(artifact).digest("hex"));
  assert.ok(sigward.verifyBundle(bundle, digest, signer, root).length > 0);
  assert.throws(
    () => sigward.verifyBundle(bundle, Buffer.from("another artifact"), signer, root),
    (e) => e instanceof sigward.BundleError && e.trace.length > 0,
  );
  assert.throws(
    () => sigward.verifyBundle(bundle, sigward.Artifact.fromSha256("+a".repeat(32)), signer, root),
    (e) => e instanceof sigward.BundleError && e.check === "input",
  );
  const other = new sigward.KeylessIdentity({ issuer: GITHUB, subject: "https://github.com/someone/else" });
  assert.throws(
    () => sigward.verifyBundle(bundle, artifact, other, root),
    (e) => e instanceof sigward.BundleError && e.check === "certificate.subject",
  );
});

test("inputs of the wrong kind are type errors, not decisions", () => {
  const policy = sigward.Policy.parse(POLICY);
  assert.throws(
    () => policy.verify(`quay.io/app@sha256:${"ab".repeat(32)}`, [{ bundle: "{}" }], productionRoot()),
    TypeError,
  );
  assert.throws(() => new sigward.Policy(), TypeError);
});

const vector = (id) => {
  const [line] = lines().filter((v) => v.id === id);
  assert.ok(line, id);
  return line;
};

test("attestations are required, typed and judged at the time given", () => {
  const bound = vector("demo/registry.demo.test-attested-app-v1/maxAge-1h/at-its-bound");
  const policy = sigward.Policy.parse(bound.policy);
  const root = sigward.TrustedRoot.parse(data(bound.trusted_root, shared));
  const { rule } = policy.match(bound.image);
  const types = policy.attestationTypes(rule);
  assert.equal(types[0], "https://slsa.dev/provenance/v1");
  assert.ok(types.includes("https://spdx.dev/Document"));
  assert.deepEqual(policy.attestationTypes(policy.ruleCount), []);
  assert.deepEqual(policy.attestationTypes(-1), []);

  const signatures = bound.signatures.map(signature);
  const attestations = bound.attestations.map(signature);
  const at = new Date(bound.now * 1000);
  for (const now of [bound.now, BigInt(bound.now), at]) {
    const allowed = policy.verifyAttested(bound.image, signatures, attestations, root, now);
    assert.ok(allowed.allowed, allowed.message);
  }
  const past = policy.verifyAttested(
    bound.image,
    signatures,
    attestations,
    root,
    new Date(at.getTime() + 1000),
  );
  assert.equal(past.allowed, false);
  assert.match(past.message, /maxAge/);
  // `verify` passes no attestations: a rule that requires some refuses.
  assert.equal(policy.verify(bound.image, signatures, root).allowed, false);
  for (const bad of [new Date(Number.NaN), 1.5, 2n ** 63n]) {
    assert.throws(() => policy.verifyAttested(bound.image, signatures, attestations, root, bad), RangeError);
  }
  // The instance still answers: a bad time is refused before any call.
  assert.ok(policy.verifyAttested(bound.image, signatures, attestations, root, bound.now).allowed);
});

test("the SBOM and the affected packages are typed", () => {
  const line = vector("demo/registry.demo.test-attested-app-v1/affected");
  const policy = sigward.Policy.parse(line.policy);
  const root = sigward.TrustedRoot.parse(data(line.trusted_root, shared));
  const attestations = line.attestations.map(signature);
  const sbom = policy.sbom(line.image, attestations, root, line.now);
  assert.ok(["https://spdx.dev/Document", "https://cyclonedx.org/bom"].includes(sbom.predicateType));
  const lodash = { name: "lodash", version: "4.17.20", purl: "pkg:npm/lodash@4.17.20" };
  assert.ok(sbom.packages.some((p) => isEqual(p, lodash)));
  const advisories = line.advisories.map((a) => new TextEncoder().encode(a));
  const findings = policy.affected(line.image, attestations, root, advisories, line.now);
  assert.ok(
    findings.some((f) => isEqual(f, { package: lodash, advisory: "DEMO-NPM-0001", fixed: "4.17.21" })),
  );
  assert.ok(findings.every((f) => sbom.packages.some((p) => isEqual(p, f.package))));
  assert.throws(
    () => policy.sbom(line.image, [], root, line.now),
    (e) => e instanceof sigward.SbomError && /no SBOM verifies/.test(e.detail),
  );
  assert.throws(
    () => policy.affected(line.image, attestations, root, ["not json"], line.now),
    sigward.SbomError,
  );
});

test("a rule gating on advisories refuses an affected image", () => {
  const bound = vector("demo/registry.demo.test-attested-app-v1/maxAge-1h/at-its-bound");
  const { advisories } = vector("demo/registry.demo.test-attested-app-v1/affected");
  // The vector's attested rule is its last: gate it on advisories of any severity.
  const gated = `${bound.policy.trimEnd()}\n    advisories:\n      deny: {severity: UNKNOWN}\n`;
  const policy = sigward.Policy.parse(gated);
  const root = sigward.TrustedRoot.parse(data(bound.trusted_root, shared));
  const { rule } = policy.match(bound.image);
  assert.equal(policy.gatesOnAdvisories(rule), true);
  assert.equal(policy.gatesOnAdvisories(0), false);
  assert.equal(policy.gatesOnAdvisories(-1), false);
  const signatures = bound.signatures.map(signature);
  const attestations = bound.attestations.map(signature);
  const refused = policy.verifyWithAdvisories(
    bound.image,
    signatures,
    attestations,
    root,
    advisories,
    bound.now,
  );
  assert.equal(refused.allowed, false);
  assert.equal(refused.verified, true);
  assert.match(refused.message, /advisory DEMO-NPM-0001/);
  assert.match(refused.message, /affects pkg:npm\/lodash@4\.17\.20, fixed in 4\.17\.21/);
  assert.ok(refused.trace.some((c) => c.name === "advisories"));
  // None held: admitted; verifyAttested is not told what is held: refused.
  assert.ok(policy.verifyWithAdvisories(bound.image, signatures, attestations, root, [], bound.now).allowed);
  assert.equal(policy.verifyAttested(bound.image, signatures, attestations, root, bound.now).allowed, false);
});
