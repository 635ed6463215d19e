# sigward tasks. `just --list` shows them all.
set shell := ["bash", "-euo", "pipefail", "-c"]

bin := "target/debug/sigward"

# List the recipes.
default:
    @just --list

# Build the CLI; host/build.rs builds the guest component and embeds it.
# Built as the tests build it, so that tests and demo share one build.
build:
    cargo test --locked --workspace --no-run --quiet

# The main job, offline: a private PKI signs images into an OCI layout, and
# `sigward verify` judges them under a policy. Then the example policies.
demo: build
    #!/usr/bin/env bash
    set -euo pipefail
    out=target/demo
    echo "== sigward-demo: a private test PKI (CA, log, CT log) signs images into $out/layout"
    target/debug/sigward-demo --out "$out"
    echo "   policy: $out/policy.yaml   trusted root: $out/trusted_root.json"
    echo; echo "== the images, and what each one shows"
    sed 's/\t/   # /' "$out/images.txt"
    verify=({{bin}} verify --policy "$out/policy.yaml" --trusted-root "$out/trusted_root.json" --oci-layout "$out/layout")
    echo; echo "== sigward verify --policy $out/policy.yaml --oci-layout $out/layout IMAGE..."
    status=0
    "${verify[@]}" $(cut -f1 "$out/images.txt") || status=$?
    echo "(exit $status: some images are refused, as this demo intends)"
    test "$status" -eq 1
    echo; echo "== one decision as JSON, with its trace"
    "${verify[@]}" --output json registry.demo.test/signed/legacy:v1
    echo; echo "== sigward component"
    {{bin}} component
    for policy in policies/*; do
        echo; echo "== sigward check $policy"
        {{bin}} check "$policy"
    done
    echo; echo "== sigward match --policy policies/talos-open.yaml (no fetching: which rule, which action)"
    {{bin}} match --policy policies/talos-open.yaml $(grep -v '^#' demo/match-images.txt)

# The whole test suite: core unit tests, native-vs-component tables, CLI tests.
test:
    cargo test --locked --workspace

# Formatting and lints, for the host and for the wasm guest.
lint:
    cargo fmt --all --check
    cargo clippy --locked --workspace --all-targets -- -D warnings
    cargo clippy --locked -p sigward-component --target wasm32-unknown-unknown -- -D warnings

# Write the component to FILE, for hosts in other languages.
component file="sigward.wasm": build
    {{bin}} component --write {{file}}

# The benchmark: sigward (component and native) against sigstore-python and
# sigstore-js on the same bundles, matching, the boundary, start-up, size and
# memory. Installs the peers under target/bench, writes BENCHMARKS.md.
bench: build
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p target/bench/js
    python3 -m venv target/bench/py
    target/bench/py/bin/pip install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
    cp bench/peers/package.json bench/peers/sigstore_js.mjs target/bench/js/
    (cd target/bench/js && npm install --silent --no-audit --no-fund)
    cargo bench --locked -p sigward-host --bench bench --profile dev -- \
        --python "$PWD/target/bench/py/bin/python" --js "$PWD/target/bench/js/sigstore_js.mjs" \
        --out "$PWD/BENCHMARKS.md"
