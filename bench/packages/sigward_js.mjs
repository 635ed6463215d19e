// sigward's Node package (portable component transpiled by jco), timed
// in-process on the cases the benchmark gives on stdin (JSON), as the peers
// are; then the cost of one call across the boundary. One JSON line each.
import { readFileSync } from "node:fs";

const loading = process.hrtime.bigint();
const sigward = await import("../../js/src/index.js");
const loaded = Number(process.hrtime.bigint() - loading) / 1000;

function timed(iterations, once) {
  once();
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    once();
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  const n = samples.length;
  const median = n % 2 ? samples[(n - 1) / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  return {
    median_us: median,
    p10_us: samples[Math.floor(n / 10)],
    p90_us: samples[Math.floor((9 * n) / 10)],
    n,
  };
}

const peer = "sigward Node package";
const emit = (out) => console.log(JSON.stringify(out));
const job = JSON.parse(readFileSync(0, "utf8"));
emit({ name: "load: import (compile the core modules)", peer, median_us: loaded, p10_us: loaded, p90_us: loaded, n: 1 });
for (const c of job.cases) {
  const out = { name: c.name, peer };
  try {
    const root = sigward.TrustedRoot.parse(readFileSync(c.trusted_root));
    const bundle = readFileSync(c.bundle, "utf8");
    const artifact = readFileSync(c.artifact);
    const signer = c.identity
      ? new sigward.KeylessIdentity({ issuer: c.identity.issuer, subject: c.identity.subject })
      : new sigward.PublicKey(readFileSync(c.key, "utf8"));
    Object.assign(out, timed(job.iterations, () => sigward.verifyBundle(bundle, artifact, signer, root)));
  } catch (e) {
    out.error = `${e.name}: ${e.message}`;
  }
  emit(out);
}
const policy = sigward.Policy.parse(
  "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: docker.io/*\n    deny: true\n",
);
emit({ name: "call: rule-count (no arguments, a u32 back)", peer, ...timed(2000, () => policy.ruleCount) });
emit({
  name: "call: match-image (a string in, a record back)",
  peer,
  ...timed(2000, () => policy.match("nginx")),
});
