#!/usr/bin/env bash
# Sets up a fresh machine for sigward, then runs a justfile recipe:
#   bash bootstrap.sh demo    # the main job: check the example policies, match images
#   bash bootstrap.sh test    # the test suite
# Installs: the pinned Rust toolchain with its wasm targets (rust-toolchain.toml),
# and `just` (from PyPI, into .tools/). Everything else comes from crates.io.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v rustup >/dev/null; then
    echo "bootstrap: rustup is needed to install the pinned Rust toolchain" >&2
    exit 1
fi
# Reads rust-toolchain.toml: the channel, components and both wasm targets.
rustup toolchain install --no-self-update >/dev/null

if ! command -v just >/dev/null && [ ! -x .tools/bin/just ]; then
    python3 -m pip install --quiet --disable-pip-version-check --target .tools rust-just \
        || cargo install --locked --root .tools just
fi
export PATH="$PWD/.tools/bin:$PATH"

exec just "${@:-demo}"
