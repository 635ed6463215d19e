// sigstore-js (@sigstore/verify) offline verification, timed in-process on the
// cases the sigward benchmark gives on stdin (JSON), one JSON line per case.
import { readFileSync } from "node:fs";
import { createPublicKey } from "node:crypto";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { Verifier, toSignedEntity, toTrustMaterial } from "@sigstore/verify";

const job = JSON.parse(readFileSync(0, "utf8"));
for (const c of job.cases) {
  const out = { name: c.name, peer: "sigstore-js" };
  try {
    const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(c.trusted_root, "utf8")));
    const bundle = bundleFromJSON(JSON.parse(readFileSync(c.bundle, "utf8")));
    // A key signer is found by the bundle's hint; this one is always valid.
    const key = c.key ? createPublicKey(readFileSync(c.key)) : undefined;
    const keys = key ? () => ({ publicKey: key, validFor: () => true }) : undefined;
    const verifier = new Verifier(toTrustMaterial(root, keys), {
      tlogThreshold: 1,
      ctlogThreshold: c.key ? 0 : 1,
    });
    const artifact = readFileSync(c.artifact);
    const policy = c.identity
      ? { subjectAlternativeName: c.identity.subject, extensions: { issuer: c.identity.issuer } }
      : {};
    const once = () => verifier.verify(toSignedEntity(bundle, artifact), policy);
    once();
    const samples = [];
    for (let i = 0; i < job.iterations; i++) {
      const start = process.hrtime.bigint();
      once();
      samples.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    samples.sort((a, b) => a - b);
    const n = samples.length;
    const median = n % 2 ? samples[(n - 1) / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    Object.assign(out, {
      median_us: median,
      p10_us: samples[Math.floor(n / 10)],
      p90_us: samples[Math.floor((9 * n) / 10)],
      n,
    });
  } catch (e) {
    out.error = `${e.name}: ${e.message}`;
  }
  console.log(JSON.stringify(out));
}
