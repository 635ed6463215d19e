// Writes the portable sigward component (from the Rust host in this
// checkout) and transpiles it with jco into generated/: the core wasm
// modules, their JS glue and its TypeScript types. Run by `npm install`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const repository = dirname(here);
const generated = join(here, "generated");
const component = join(generated, "sigward.wasm");

if (existsSync(join(repository, "Cargo.toml"))) {
  console.log("sigward: building the portable component (`sigward component --portable`)");
  // The build `just build` makes, so that an existing one is reused.
  execFileSync(
    "cargo",
    ["build", "--locked", "--quiet", "-p", "sigward-host", "-p", "sigward-demo", "--bins"],
    { cwd: repository, stdio: "inherit" },
  );
  rmSync(generated, { recursive: true, force: true });
  mkdirSync(generated, { recursive: true });
  execFileSync(join(repository, "target", "debug", "sigward"), [
    "component",
    "--portable",
    "--write",
    component,
  ]);
} else if (!existsSync(join(generated, "sigward.js"))) {
  throw new Error("sigward: generated/ is missing and there is no checkout to build it from");
} else {
  process.exit(0);
}

console.log("sigward: transpiling with jco");
execFileSync(
  join(here, "node_modules", ".bin", "jco"),
  ["transpile", component, "--out-dir", generated, "--name", "sigward", "--instantiation", "sync", "--quiet"],
  { stdio: "inherit" },
);
rmSync(component);

// The core modules jco wrote, for src/index.js to compile before any
// (synchronous) instantiation.
const modules = readdirSync(generated)
  .filter((name) => name.endsWith(".wasm"))
  .sort();
writeFileSync(
  join(generated, "modules.js"),
  `// Written by scripts/build.mjs.\nexport const modules = ${JSON.stringify(modules)};\n`,
);
