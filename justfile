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

# The main job, offline: check every example policy, then match a day's images.
demo: build
    #!/usr/bin/env bash
    set -euo pipefail
    echo "== sigward component"
    {{bin}} component
    for policy in policies/*; do
        echo; echo "== sigward check $policy"
        {{bin}} check "$policy"
    done
    images=$(grep -v '^#' demo/images.txt)
    for policy in policies/talos-open.yaml policies/talos-skip.yaml; do
        echo; echo "== sigward match --policy $policy"
        {{bin}} match --policy "$policy" $images
    done
    echo; echo "== the same, as JSON (one object per image)"
    {{bin}} match --policy policies/talos-skip.yaml --output json $images

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

# Timings quoted in the notes: compile, load, warm match, whole process.
timing:
    cargo bench --locked -p sigward-host --bench timing --profile dev
