#!/usr/bin/env bash
# Sets up a fresh machine for sigward, then runs a justfile recipe:
#   bash bootstrap.sh demo    # the main job: sign images offline, verify them under a policy
#   bash bootstrap.sh test    # the test suite
# Installs: the pinned Rust toolchain with its wasm targets (rust-toolchain.toml),
# `just` (from PyPI, into .tools/) and, for the tests, Debian's docker-registry
# (the real registry the end-to-end tests start). Crates come from crates.io.
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

if [ "${1:-demo}" = test ] && ! command -v docker-registry >/dev/null; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-registry >/dev/null
fi

exec just "${@:-demo}"
