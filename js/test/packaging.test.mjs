// The package as others consume it: its TypeScript types, and a browser bundle.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(here, "node_modules", ".bin", name);

test("the TypeScript types check a typical use", () => {
  execFileSync(
    bin("tsc"),
    [
      "--noEmit",
      "--strict",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--skipLibCheck",
      "false",
      join(here, "test", "usage.ts"),
    ],
    { cwd: here, stdio: "pipe" },
  );
});

test("a browser bundle holds no Node module but the guarded file read", () => {
  const out = join(mkdtempSync(join(tmpdir(), "sigward-bundle-")), "sigward.js");
  execFileSync(bin("esbuild"), [
    join(here, "src", "index.js"),
    "--bundle",
    "--format=esm",
    "--platform=browser",
    "--external:node:fs/promises",
    `--outfile=${out}`,
    "--log-level=error",
  ]);
  const bundled = readFileSync(out, "utf8");
  const imports = [...bundled.matchAll(/import\(\s*"([^"]+)"\s*\)|from\s+"([^"]+)"/g)].map(
    (m) => m[1] ?? m[2],
  );
  assert.deepEqual(imports, ["node:fs/promises"]);
  assert.match(bundled, /WebAssembly\.compileStreaming/);
});
