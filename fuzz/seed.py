#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from ../shared and the repository.

    python3 fuzz/seed.py SHARED_DIR OUT_DIR

Writes OUT_DIR/<target>/<name> for every target of fuzz/Cargo.toml. Nothing
is kept in the repository: the seeds are real public data read from
../shared (bundles, trusted roots, legacy signatures, TUF metadata, and the timestamps,
certificates, SCT lists and checkpoints inside them) and the example
policies.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path

SCT_LIST_OID = bytes.fromhex("060a2b06010401d679020402")


def write(out: Path, target: str, data: bytes) -> None:
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)


def json_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".sigstore") and path.stat().st_size < 4 << 20:
            try:
                yield path, json.loads(path.read_bytes())
            except (ValueError, UnicodeDecodeError):
                continue


def der_length(data: bytes, at: int):
    """The length of the DER element whose length octets start at `at`."""
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


def sct_list(cert: bytes):
    """The TLS-encoded SCT list inside a certificate's SCT extension."""
    at = cert.find(SCT_LIST_OID)
    if at < 0:
        return None
    at += len(SCT_LIST_OID)
    while at < len(cert) and cert[at] != 0x04:  # skip `critical`
        at += 1
    if at >= len(cert):
        return None
    _, at = der_length(cert, at + 1)  # the extension's OCTET STRING
    if at >= len(cert) or cert[at] != 0x04:
        return None
    length, at = der_length(cert, at + 1)  # the inner OCTET STRING
    return cert[at : at + length]


def bundle_parts(out: Path, bundle: dict) -> None:
    material = bundle.get("verificationMaterial") or {}
    certs = []
    if "certificate" in material:
        certs.append(material["certificate"].get("rawBytes", ""))
    for cert in (material.get("x509CertificateChain") or {}).get("certificates", []):
        certs.append(cert.get("rawBytes", ""))
    for raw in certs:
        try:
            der = base64.b64decode(raw)
        except ValueError:
            continue
        write(out, "certificate", der)
        scts = sct_list(der)
        if scts:
            write(out, "sct_list", scts)
    for stamp in (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps", []):
        try:
            write(out, "timestamp", base64.b64decode(stamp.get("signedTimestamp", "")))
        except ValueError:
            pass
    for entry in material.get("tlogEntries", []):
        envelope = ((entry.get("inclusionProof") or {}).get("checkpoint") or {}).get("envelope")
        if envelope:
            write(out, "checkpoint", envelope.encode())


def pod(image: str) -> dict:
    return {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "CREATE", "subResource": None,
            "object": {"spec": {"containers": [{"name": "app", "image": image}]}}}


def kubewarden_seed(out: Path, stored: dict) -> None:
    """A Pod of the signed image, the host's answers a `.sig` manifest of
    the stored layer (descriptor digest and annotations), as Kubewarden's
    capabilities return them."""
    payload = base64.b64decode(stored.get("payload", ""))
    try:
        digest = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError):
        return
    layer = {"mediaType": stored.get("mimeType", ""), "size": len(payload),
             "digest": "sha256:" + hashlib.sha256(payload).hexdigest(),
             "annotations": stored.get("annotations") or {}}
    manifest = {"schemaVersion": 2, "layers": [layer]}
    seed = {"request": pod("registry.test/app:v1"), "digest": json.dumps({"digest": digest}),
            "manifest": json.dumps(manifest)}
    write(out, "kubewarden", json.dumps(seed).encode())


def main() -> None:
    shared, out = Path(sys.argv[1]), Path(sys.argv[2])
    repo = Path(__file__).resolve().parent.parent
    for source in (shared / "conformance", shared / "corpus"):
        for path, value in json_files(source):
            if not isinstance(value, dict):
                continue
            if "verificationMaterial" in value:
                data = path.read_bytes()
                write(out, "bundle_parse", data)
                write(out, "bundle_verify", data)
                bundle_parts(out, value)
            elif "certificateAuthorities" in value or "tlogs" in value:
                write(out, "trusted_root", path.read_bytes())
                for authority in value.get("certificateAuthorities", []):
                    for cert in authority.get("certChain", {}).get("certificates", []):
                        write(out, "certificate", base64.b64decode(cert.get("rawBytes", "")))
    for path in sorted((shared / "corpus").rglob("signature-*")):
        data = path.read_bytes()
        prefix = b"\x00sigstore-json\n"
        if data.startswith(prefix):
            write(out, "legacy", data[len(prefix) :])
            kubewarden_seed(out, json.loads(data[len(prefix) :]))
    tuf = shared / "tuf-conformance" / "tuf_conformance" / "static_data"
    steps = {"root": 1, "timestamp": 2, "snapshot": 3, "targets": 4}
    for path in sorted(tuf.rglob("*.json")):
        kind = path.name.split(".")[-2] if path.name.count(".") > 1 else path.stem
        write(out, "tuf_metadata", bytes([steps.get(kind, 4)]) + path.read_bytes())
    for path in sorted((repo / "policies").iterdir()):
        write(out, "policy", path.read_bytes())
        write(out, "kubewarden", json.dumps({"settings": {"policy": path.read_text()}}).encode())
    for image in ("registry.test/skip/a:1", "registry.test/deny/a:1", "registry.test/a@sha256:" + "0" * 64):
        write(out, "kubewarden", json.dumps({"request": pod(image)}).encode())
    for path in sorted((repo / "host" / "tests" / "data" / "osv").glob("*.json")):
        write(out, "advisory", path.read_bytes())
    for line in (repo / "demo" / "match-images.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            write(out, "reference", line.split()[0].encode())
    counts = {d.name: len(list(d.iterdir())) for d in sorted(out.iterdir()) if d.is_dir()}
    print("seeds:", ", ".join(f"{name} {count}" for name, count in counts.items()))


if __name__ == "__main__":
    main()
