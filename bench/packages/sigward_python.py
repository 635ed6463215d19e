"""sigward's Python package (fast component on wasmtime-py), timed in-process
on the cases the benchmark gives on stdin (JSON), as the peers are; then the
cost of one call across the boundary. One JSON line per measure on stdout."""

import json
import statistics
import sys
import time
from pathlib import Path

import sigward


def timed(iterations, once):
    once()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        once()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    n = len(samples)
    return {
        "median_us": statistics.median(samples),
        "p10_us": samples[n // 10],
        "p90_us": samples[(9 * n) // 10],
        "n": n,
    }


def main() -> None:
    job = json.load(sys.stdin)
    peer = "sigward Python package"
    for case in job["cases"]:
        out = {"name": case["name"], "peer": peer}
        try:
            root = sigward.TrustedRoot.parse(Path(case["trusted_root"]).read_bytes())
            bundle = Path(case["bundle"]).read_text()
            artifact = Path(case["artifact"]).read_bytes()
            if case.get("identity"):
                signer = sigward.KeylessIdentity(
                    case["identity"]["issuer"], case["identity"]["subject"]
                )
            else:
                signer = sigward.PublicKey(Path(case["key"]).read_text())
            out.update(timed(job["iterations"], lambda: sigward.verify_bundle(
                bundle, artifact, signer, root)))
        except Exception as e:  # reported, never hidden
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out), flush=True)

    policy = sigward.Policy.parse(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n"
        "  - image: docker.io/*\n    deny: true\n"
    )
    calls = {
        "call: rule-count (no arguments, a u32 back)": lambda: policy.rule_count,
        "call: match-image (a string in, a record back)": lambda: policy.match("nginx"),
    }
    for name, once in calls.items():
        print(json.dumps({"name": name, "peer": peer, **timed(2000, once)}), flush=True)
    # What 0.3.0 of the WIT avoids: a 5 KB document as list<u8> (the
    # artifact, the one byte list left) and as a string (a bundle).
    five_kb = b"x" * 5000
    root = sigward.TrustedRoot.parse(Path(job["cases"][0]["trusted_root"]).read_bytes())
    who = sigward.KeylessIdentity("https://issuer.test", "someone")
    for name, artifact, bundle in [
        ("call: verify-bundle, 5 KB as list<u8> (artifact bytes)", five_kb, "{}"),
        ("call: verify-bundle, 5 KB as string (bundle)", b"", "{" + " " * 4998 + "}"),
    ]:
        def once(artifact=artifact, bundle=bundle):
            try:
                sigward.verify_bundle(bundle, artifact, who, root)
            except sigward.BundleError:
                pass
        print(json.dumps({"name": name, "peer": peer, **timed(200, once)}), flush=True)


if __name__ == "__main__":
    main()
