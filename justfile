# sigward tasks. `just --list` shows them all.
set shell := ["bash", "-euo", "pipefail", "-c"]

bin := "target/debug/sigward"

# List the recipes.
default:
    @just --list

# Build the CLI and the demo's signer; host/build.rs builds the guest
# component and embeds it. Only what the demo runs is built; the tests and
# the benchmark reuse it (host/Cargo.toml keeps their features in step).
# Then the fast component compiled for this machine, beside the binary
# (target/debug/sigward.cwasm), so that no run has to compile it.
build:
    cargo build --locked -p sigward-host -p sigward-demo --bins
    [ {{bin}}.cwasm -nt {{bin}} ] || {{bin}} component --precompile {{bin}}.cwasm > /dev/null

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
    echo; echo "== sigward pin: the verified tags of demo/app.yaml pinned in place (a copy in $out)"
    cp demo/app.yaml "$out/app.yaml"
    pin=({{bin}} pin --policy "$out/policy.yaml" --trusted-root "$out/trusted_root.json" --oci-layout "$out/layout")
    status=0
    "${pin[@]}" --check "$out/app.yaml" || status=$?
    echo "(--check: exit $status, images left to pin)"
    test "$status" -eq 1
    "${pin[@]}" "$out/app.yaml"
    diff demo/app.yaml "$out/app.yaml" || true
    "${pin[@]}" --check "$out/app.yaml" > /dev/null
    echo "(--check on the pinned copy: exit 0)"
    echo; echo "== sigward sbom: the packages of an image's verified SBOM attestation"
    {{bin}} sbom --policy "$out/policy.yaml" --trusted-root "$out/trusted_root.json" --oci-layout "$out/layout" registry.demo.test/attested/app:v1
    echo; echo "== sigward affected --advisories $out/advisories: which verified SBOMs hold an affected package"
    status=0
    {{bin}} affected --policy "$out/policy.yaml" --trusted-root "$out/trusted_root.json" --oci-layout "$out/layout" \
        --advisories "$out/advisories" registry.demo.test/attested/app:v1 registry.demo.test/signed/legacy:v1 || status=$?
    echo "(exit $status: affected packages, and an image with no SBOM)"
    test "$status" -eq 1
    db="$out/inventory.db"
    rm -f "$db" "$db-wal" "$db-shm"
    echo; echo "== the inventory store ($db): the demo advisories imported, the demo images recorded"
    {{bin}} advisories import --db "$db" "$out/advisories"
    status=0
    {{bin}} inventory add --db "$db" --cluster demo --policy "$out/policy.yaml" --trusted-root "$out/trusted_root.json" \
        --oci-layout "$out/layout" $(cut -f1 "$out/images.txt") || status=$?
    echo "(exit $status: the refused images are not recorded)"
    test "$status" -eq 1
    {{bin}} inventory status --db "$db"
    echo; echo "== sigward affected --db $db --severity HIGH: which recorded images a HIGH or CRITICAL advisory affects"
    status=0
    {{bin}} affected --db "$db" --severity HIGH --fail-on CRITICAL || status=$?
    echo "(--fail-on CRITICAL: exit $status)"
    test "$status" -eq 1
    echo; echo "== sigward affected --db $db --advisory CVE-2026-9001 --output json"
    {{bin}} affected --db "$db" --advisory CVE-2026-9001 --output json
    echo; echo "== sigward component"
    {{bin}} component
    for policy in policies/*; do
        echo; echo "== sigward check $policy"
        {{bin}} check "$policy"
    done
    echo; echo "== sigward match --policy policies/talos-open.yaml (no fetching: which rule, which action)"
    {{bin}} match --policy policies/talos-open.yaml $(grep -v '^#' demo/match-images.txt)

# The whole test suite: core unit tests, native-vs-component tables, CLI
# tests; then the Python and Node packages, each replaying the vectors.
test: && test-python test-js test-playground test-tuf
    cargo test --locked --workspace

# Install the Python package (fast component, on wasmtime-py) into
# target/python, a virtualenv, with its test and lint tools.
python: build
    #!/usr/bin/env bash
    set -euo pipefail
    test -x target/python/bin/python || python3 -m venv target/python
    echo "== pip install ./python[dev] into target/python"
    target/python/bin/pip install --quiet --disable-pip-version-check "./python[dev]"

# Install the Node package's tools and build it (portable component,
# transpiled by jco into js/generated). The tools are installed again only
# when the lockfile changed since.
js: build
    #!/usr/bin/env bash
    set -euo pipefail
    cd js
    if [ node_modules/.package-lock.json -nt package-lock.json ]; then
        npm run --silent prepare
    else
        npm ci --no-audit --no-fund
    fi

# The playground's static files, in target/playground: the page, the Node
# package's sources and built component, the examples (policies/ and the
# demo world's bundles).
playground-build: build js
    #!/usr/bin/env bash
    set -euo pipefail
    out=target/playground
    rm -rf "$out"
    mkdir -p "$out"
    cp playground/index.html playground/app.js playground/style.css playground/sw.js "$out/"
    cp -r js/src "$out/src"
    cp -r js/generated "$out/generated"
    python3 playground/examples.py "$out/examples"
    # The service worker's list of what to keep for offline use.
    (cd "$out" && find . -type f ! -name sw.js ! -name files.json | sed 's|^\./||' | sort \
        | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read().split()))' > files.json)
    echo "playground: $out ($(du -sh "$out" | cut -f1))"

# Serve the playground on 127.0.0.1:PORT until stopped.
playground port="8080": playground-build
    python3 -m http.server --bind 127.0.0.1 {{port}} --directory target/playground

# The playground in a real browser (Debian's chromium, driven by playwright-core).
test-playground: playground-build
    cd playground && npm ci --no-audit --no-fund --silent && npm test --silent

# The TUF client conformance suite (../shared/tuf-conformance, run as
# python-tuf and go-tuf run it) against `sigward tuf`. Its dependencies come
# from PyPI into target/tuf-conformance; one test needs Debian's faketime.
# Every test must pass: there is no .xfails file.
test-tuf: build
    #!/usr/bin/env bash
    set -euo pipefail
    suite=../shared/tuf-conformance
    test -f "$suite/CLIENT-CLI.md" || { echo "test-tuf: $suite is missing" >&2; exit 1; }
    command -v faketime >/dev/null || { echo "test-tuf: faketime is needed (Debian's faketime)" >&2; exit 1; }
    test -x target/tuf-conformance/bin/python || python3 -m venv target/tuf-conformance
    target/tuf-conformance/bin/pip install --quiet --disable-pip-version-check -r conformance/tuf-requirements.txt
    echo "== tuf-conformance against sigward tuf"
    # Nothing is written into ../shared: no pytest cache, no bytecode.
    PYTHONDONTWRITEBYTECODE=1 target/tuf-conformance/bin/python -m pytest -p no:cacheprovider -q \
        "$suite/tuf_conformance" --entrypoint "$PWD/{{bin}} tuf" \
        --json-report --json-report-file=target/tuf-conformance/report.json --json-report-omit=log
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]; print("tuf-conformance:", ", ".join(f"{v} {k}" for k, v in s.items()))' target/tuf-conformance/report.json

# The Python package's tests (pytest).
test-python: python
    cd python && ../target/python/bin/python -m pytest -q

# The Node package's tests (node --test).
test-js: js
    cd js && npm test --silent

# Formatting and lints: the host, the wasm guest, the Python package (ruff),
# the Node package and the playground (biome).
lint: python js
    cargo fmt --all --check
    cargo clippy --locked --workspace --all-targets -- -D warnings
    cargo clippy --locked -p sigward-component --target wasm32-unknown-unknown -- -D warnings
    cd python && ../target/python/bin/ruff check . && ../target/python/bin/ruff format --check .
    cd js && npm run --silent lint
    cd playground && ../js/node_modules/.bin/biome ci --colors=off .

# cargo deny (deny.toml): licenses, duplicate versions and sources always;
# advisories when the RustSec database (a GitHub repository) can be fetched.
deny:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x .tools/deny/bin/cargo-deny ]; then
        echo "== installing cargo-deny into .tools/deny"
        cargo install --locked --quiet --root .tools/deny cargo-deny@0.20.2
    fi
    export PATH="$PWD/.tools/deny/bin:$PATH"
    cargo deny --locked check bans licenses sources
    mkdir -p target
    if ! cargo deny --locked check advisories 2> target/deny-advisories.log; then
        if grep -q 'failed to fetch advisory database' target/deny-advisories.log; then
            echo "deny: ADVISORIES NOT CHECKED: the RustSec database cannot be fetched from this machine (github.com is unreachable)" >&2
        else
            cat target/deny-advisories.log >&2
            exit 1
        fi
    fi

# Fuzz every target for SECONDS each (cargo fuzz: nightly, AddressSanitizer),
# seeded from ../shared and the example policies (kept under target/, never
# committed). A crash stops the run; its input is in fuzz/artifacts/TARGET/.
fuzz seconds="60":
    #!/usr/bin/env bash
    set -euo pipefail
    toolchain=nightly-2026-05-20
    rustup toolchain install --no-self-update --profile minimal "$toolchain" >/dev/null 2>&1
    # Its own root: pip, which installs just into .tools, replaces .tools/bin.
    if [ ! -x .tools/fuzz/bin/cargo-fuzz ]; then
        echo "== installing cargo-fuzz into .tools/fuzz"
        cargo install --locked --quiet --root .tools/fuzz cargo-fuzz@0.13.2
    fi
    export PATH="$PWD/.tools/fuzz/bin:$PATH"
    python3 fuzz/seed.py ../shared target/fuzz/corpus
    cd fuzz
    echo "== building the fuzz targets ($toolchain)"
    cargo +$toolchain fuzz build --target-dir ../target/fuzz/build
    for target in $(cargo +$toolchain fuzz list); do
        echo "== fuzz $target for {{seconds}} s"
        cargo +$toolchain fuzz run --target-dir ../target/fuzz/build "$target" "../target/fuzz/corpus/$target" -- \
            -max_total_time={{seconds}} -rss_limit_mb=4096 -print_final_stats=1 2> "../target/fuzz/$target.log" \
            || { tail -40 "../target/fuzz/$target.log"; exit 1; }
        grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units' "../target/fuzz/$target.log" | sed 's/^/   /'
    done

# Write the fast component to FILE (`just component FILE portable`: the
# portable one, for hosts in other languages; `kubewarden`: the Kubewarden
# policy, for kwctl).
component file="sigward.wasm" build="fast": build
    {{bin}} component --write {{file}} {{ if build == "portable" { "--portable" } else if build == "kubewarden" { "--kubewarden" } else { "" } }}

# Rewrite vectors/decisions.jsonl from the demo world and ../shared, every
# `expect` from the fast component. Review the diff: the file is the
# reference every host is held to.
vectors: build
    target/debug/sigward-vectors vectors/decisions.jsonl
    git diff --stat vectors/decisions.jsonl

# The benchmark: sigward (component, native, and the Python and Node
# packages) against sigstore-python and sigstore-js on the same bundles,
# matching, the boundary, start-up, size and memory. Installs the peers
# under target/bench, writes BENCHMARKS.md.
bench: build python js
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p target/bench/js
    python3 -m venv target/bench/py
    target/bench/py/bin/pip install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
    cp bench/peers/package.json bench/peers/sigstore_js.mjs target/bench/js/
    (cd target/bench/js && npm install --silent --no-audit --no-fund)
    cargo bench --locked -p sigward-host --bench bench --profile dev -- \
        --python "$PWD/target/bench/py/bin/python" --js "$PWD/target/bench/js/sigstore_js.mjs" \
        --sigward-python "$PWD/target/python/bin/python" \
        --out "$PWD/BENCHMARKS.md"
