"""Writes the playground's examples into DIR: the example policies of
policies/, and the demo world's bundles (from vectors/decisions.jsonl) with
their trusted root, image digest and signer (from `sigward match`)."""

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def evidence(policy: Path, image: str) -> dict:
    out = subprocess.run(
        [str(REPOSITORY / "target/debug/sigward"), "match", "--policy", str(policy),
         "--output", "json", image],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)["evidence"]


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    policies = sorted(p.name for p in (REPOSITORY / "policies").glob("*.yaml"))
    for name in policies:
        shutil.copy(REPOSITORY / "policies" / name, out / name)
    bundles = []
    lines = [json.loads(line) for line in open(REPOSITORY / "vectors/decisions.jsonl")]
    demo = [
        line for line in lines
        if line["id"].startswith("demo/") and "/signature[" not in line["id"]
        and line["expect"].get("allowed") and line.get("signatures")
    ]
    for line in demo:
        found = line["signatures"][0]
        if "referrer_bundle" in found:
            bundle, where = found["referrer_bundle"]["bundle"], "an OCI referrer"
        elif "tag_bundle" in found:
            bundle, where = found["tag_bundle"], "the digest tag"
        else:
            continue
        image = line["image"]
        policy = out / "demo-policy.yaml"
        policy.write_text(line["policy"])
        (out / "demo-trusted_root.json").write_bytes(base64.b64decode(line["trusted_root"]["base64"]))
        name = image.split("@")[0].removeprefix("registry.demo.test/")
        file = f"demo-{name.replace('/', '-')}.bundle.json"
        (out / file).write_bytes(base64.b64decode(bundle))
        bundles.append({
            "name": f"demo: {name}, its bundle from {where}",
            "bundle": file,
            "trusted_root": "demo-trusted_root.json",
            "digest": image.split("@")[1],
            "signer": evidence(policy, image),
        })
    if len(bundles) >= 2:
        # A bundle over another image than the one it signed: refused.
        other = dict(bundles[0], digest=bundles[1]["digest"])
        other["name"] = f"{bundles[0]['name']}, over another image (refused)"
        bundles.append(other)
    (out / "index.json").write_text(json.dumps({"policies": policies + ["demo-policy.yaml"],
                                                "bundles": bundles}, indent=1))


if __name__ == "__main__":
    main()
