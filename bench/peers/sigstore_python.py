"""sigstore-python's offline verification, timed in-process on the cases the
sigward benchmark gives on stdin (JSON), one JSON line per case on stdout."""
import json
import statistics
import sys
import time
from pathlib import Path

from sigstore.models import Bundle
from sigstore.verify import Verifier, policy

try:
    from sigstore.models import TrustedRoot
except ImportError:  # older layouts
    from sigstore._internal.trust import TrustedRoot


def main() -> None:
    job = json.load(sys.stdin)
    for case in job["cases"]:
        out = {"name": case["name"], "peer": "sigstore-python"}
        try:
            if case.get("identity") is None:
                raise ValueError("no key-only bundle verification in sigstore-python")
            root = TrustedRoot.from_file(case["trusted_root"])
            verifier = Verifier(trusted_root=root)
            bundle = Bundle.from_json(Path(case["bundle"]).read_bytes())
            artifact = Path(case["artifact"]).read_bytes()
            who = policy.Identity(
                identity=case["identity"]["subject"], issuer=case["identity"]["issuer"]
            )
            verifier.verify_artifact(artifact, bundle, who)
            samples = []
            for _ in range(job["iterations"]):
                start = time.perf_counter()
                verifier.verify_artifact(artifact, bundle, who)
                samples.append((time.perf_counter() - start) * 1e6)
            samples.sort()
            n = len(samples)
            out.update(
                median_us=statistics.median(samples),
                p10_us=samples[n // 10],
                p90_us=samples[(9 * n) // 10],
                n=n,
            )
        except Exception as e:  # reported, never hidden
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
