#!/usr/bin/env bash
# Sets up a fresh machine for sigward, then runs a justfile recipe:
#   bash bootstrap.sh demo    # the main job: sign images offline, verify them under a policy
#   bash bootstrap.sh test    # the test suite
# Installs: the pinned Rust toolchain with its wasm targets (rust-toolchain.toml),
# `just` (from PyPI, into .tools/) and, for the tests, Debian's docker-registry
# (the real registry the end-to-end tests start), kubernetes-client (kubectl),
# python3-venv, nodejs/npm, chromium (the playground's browser tests),
# faketime (the TUF conformance suite) and postgresql (the inventory store's
# server back end),
# each only when the machine has none. Crates
# come from crates.io; the Python and Node packages' tools from PyPI and npm,
# pinned, into target/python and js/node_modules.
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

# The tests start a real registry, and build Kubernetes objects and render
# deploy/ with kubectl (no cluster needed): Debian's packages when missing.
if [ "${1:-demo}" = test ]; then
    packages=()
    command -v docker-registry >/dev/null || packages+=(docker-registry)
    command -v kubectl >/dev/null || packages+=(kubernetes-client)
    # The Python package is tested in a virtualenv, the Node one with npm.
    python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
    command -v npm >/dev/null || packages+=(nodejs npm)
    # The playground is tested in a real browser.
    command -v chromium >/dev/null || packages+=(chromium)
    # The TUF conformance suite runs one test under faketime.
    command -v faketime >/dev/null || packages+=(faketime)
    # The inventory tests and benchmark start a real PostgreSQL server.
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
        || packages+=(postgresql)
    if [ "${#packages[@]}" -gt 0 ]; then
        sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        echo "bootstrap: installing ${packages[*]} (apt-get)"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
    fi
fi

exec just "${@:-demo}"
