// The playground in a real browser: Debian's chromium, driven by
// playwright-core (it downloads nothing). The page's answers must be the
// CLI's on the same inputs. Needs `just playground-build` (just
// test-playground runs it) and the CLI built (`just build`).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const repository = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const site = join(repository, "target", "playground");
const cli = join(repository, "target", "debug", "sigward");
const shared = process.env.SIGWARD_SHARED ?? join(dirname(repository), "shared");
const browserPath =
  process.env.SIGWARD_CHROMIUM ??
  spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).stdout.trim();

for (const [what, path] of [
  ["the built page (just playground-build)", join(site, "index.html")],
  ["the CLI (just build)", cli],
  ["the shared data", join(shared, "SPEC.md")],
  ["chromium", browserPath],
]) {
  if (!existsSync(path)) throw new Error(`${what} is missing: ${path}`);
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

let server;
let browser;
let url;

before(async () => {
  const port = await freePort();
  server = spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", site], {
    stdio: "ignore",
  });
  url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function open(address = url) {
  const page = await browser.newPage();
  const started = Date.now();
  await page.goto(address);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  return { page, loadMs: Date.now() - started };
}

async function rows(page, count) {
  // The table must follow the input within a second.
  await page.waitForFunction((n) => document.querySelectorAll("#results tbody tr").length === n, count, {
    timeout: 1000,
  });
  return page.$$eval("#results tbody tr", (trs) =>
    trs.map((tr) => Object.fromEntries([...tr.cells].map((td) => [td.dataset.field, td.textContent]))),
  );
}

const images = readFileSync(join(repository, "demo", "match-images.txt"), "utf8")
  .split("\n")
  .map((s) => s.trim())
  .filter((s) => s && !s.startsWith("#"));

/** The CLI's output, standard output then error, whatever its exit code. */
const sigward = (args) => {
  const run = spawnSync(cli, args, { encoding: "utf8" });
  return run.stdout + run.stderr;
};

test("every example policy: the table is `sigward match`'s, image by image", async () => {
  const { page, loadMs } = await open();
  console.log(`# time to the first answer: ${loadMs} ms`);
  const policies = readdirSync(join(repository, "policies")).filter((f) => f.endsWith(".yaml"));
  assert.ok(policies.length >= 3);
  const withInvalid = [...images, "Invalid Reference!"];
  for (const name of policies) {
    const path = join(repository, "policies", name);
    await page.fill("#policy", readFileSync(path, "utf8"));
    await page.fill("#images", withInvalid.join("\n"));
    const shown = await rows(page, withInvalid.length);
    const expected = sigward(["match", "--policy", path, "--output", "json", ...withInvalid])
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(shown.length, expected.length);
    for (const [i, want] of expected.entries()) {
      const got = shown[i];
      assert.equal(got.image, want.image, name);
      if (want.error) {
        assert.deepEqual([got.action, got.rule, got.reference], ["error", "-", ""], `${name} ${want.image}`);
        assert.ok(want.error.includes(got.message), `${name} ${want.image}: ${got.message} / ${want.error}`);
      } else {
        assert.deepEqual(
          [got.reference, got.rule, got.action, got.message],
          [want.reference, want.rule === null ? "-" : String(want.rule), want.action, want.message],
          `${name} ${want.image}`,
        );
      }
    }
  }
  mkdirSync(join(repository, "target"), { recursive: true });
  await page.screenshot({ path: join(repository, "target", "playground.png"), fullPage: true });
  await page.close();
});

test("errors and warnings are `sigward check`'s, each with its rule and field", async () => {
  const { page } = await open();
  const text = [
    "apiVersion: v1alpha1",
    "kind: ImageVerificationConfig",
    "rules:",
    "  - image: a.io/*",
    "    keyless: {subject: me}",
    "  - image: b.io/*",
    "    skip: true",
    "    deny: true",
    "",
  ].join("\n");
  const path = join(repository, "target", "playground-invalid.yaml");
  writeFileSync(path, text);
  await page.fill("#policy", text);
  await page.waitForFunction(() => document.querySelectorAll("#diagnostics li").length > 0, null, {
    timeout: 1000,
  });
  const shown = await page.$$eval("#diagnostics li", (lis) =>
    lis.map((li) => ({
      text: li.querySelector(".text").textContent,
      rule: li.dataset.rule,
      field: li.dataset.field,
      line: li.dataset.line,
    })),
  );
  const expected = sigward(["check", path])
    .split("\n")
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim());
  assert.deepEqual(
    shown.map((d) => d.text),
    expected,
  );
  assert.ok(shown.every((d) => /^\d+$|^-$/.test(d.rule) && d.field));
  // Each at its line: rule 0's `keyless` (it has no issuer) on line 5, rule
  // 1's `skip` on line 7.
  assert.deepEqual(
    shown.map((d) => [d.rule, d.field, d.line]),
    [
      ["0", "keyless.issuer", "5"],
      ["1", "skip", "7"],
    ],
    JSON.stringify(shown),
  );
  // With the policy broken, every image says so.
  await page.fill("#images", "nginx");
  const [row] = await rows(page, 1);
  assert.deepEqual([row.action, row.message], ["error", "the policy does not load"]);
  await page.close();
});

test("the share link reproduces the page", async () => {
  const { page } = await open();
  const policy = readFileSync(join(repository, "policies", "talos-open.yaml"), "utf8");
  await page.fill("#policy", policy);
  await page.fill("#images", "ghcr.io/siderolabs/kubelet:v1.31.0\nnginx");
  await rows(page, 2);
  const link = await page.$eval("#share", (a) => a.href);
  assert.ok(link.includes("#p="), link);
  const { page: again } = await open(link);
  assert.equal(await again.inputValue("#policy"), policy);
  assert.equal((await rows(again, 2))[0].image, "ghcr.io/siderolabs/kubelet:v1.31.0");
  await page.close();
  await again.close();
});

const BEACON =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB = "https://token.actions.githubusercontent.com";

test("a bundle verifies, or fails at the check `sigward verify-bundle` names", async () => {
  const cases = join(shared, "conformance", "bundle-verify");
  const root = join(shared, "corpus", "root-signing", "targets", "trusted_root.json");
  const artifact = join(cases, "a.txt");
  const runs = [
    ["happy-path-v0.3", BEACON, true],
    ["happy-path-v0.3", "https://github.com/someone/else", false],
    ["bundle-invalid-base64-signature_fail", BEACON, false],
  ];
  for (const [name, subject, verified] of runs) {
    const bundle = join(cases, name, "bundle.sigstore.json");
    const { page } = await open();
    await page.setInputFiles("#bundle", bundle);
    await page.setInputFiles("#trusted-root", root);
    await page.setInputFiles("#artifact", artifact);
    await page.fill("#issuer", GITHUB);
    await page.fill("#subject", subject);
    await page.click("#verify");
    await page.waitForSelector("#decision[data-verified]", { timeout: 10_000 });
    const shown = await page.$eval("#decision", (d) => ({
      verified: d.dataset.verified === "true",
      ms: d.dataset.ms,
      checks: [...d.querySelectorAll("li")].map((li) => [li.dataset.check, li.dataset.outcome]),
    }));
    const out = sigward([
      "verify-bundle",
      "--bundle",
      bundle,
      "--certificate-identity",
      subject,
      "--certificate-oidc-issuer",
      GITHUB,
      "--trusted-root",
      root,
      artifact,
    ]);
    assert.equal(shown.verified, verified, `${name} ${subject}`);
    const passed = out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("passed "))
      .map((l) => l.slice(7).split(":")[0]);
    assert.deepEqual(
      shown.checks.filter(([, o]) => o === "passed").map(([c]) => c),
      passed,
      `${name}: ${out}`,
    );
    if (!verified) {
      const [, failedCheck] = shown.checks.at(-1);
      assert.equal(failedCheck, "failed");
      assert.ok(out.includes(shown.checks.at(-1)[0]), `${name}: ${shown.checks.at(-1)[0]} / ${out}`);
    } else {
      // Again, warm: the root parsed anew, the code already compiled.
      await page.evaluate(() => delete document.querySelector("#decision").dataset.verified);
      await page.click("#verify");
      await page.waitForSelector("#decision[data-verified]");
      const again = await page.$eval("#decision", (d) => d.dataset.ms);
      console.log(`# bundle verification in the page: ${shown.ms} ms first, ${again} ms again`);
    }
    await page.close();
  }
});

test("the demo world's bundles are offered as examples, and verify as the CLI says", async () => {
  const { page } = await open();
  const options = await page.$$eval("#bundle-example option", (os) => os.map((o) => o.textContent));
  assert.ok(options.length >= 4, options.join());
  const index = JSON.parse(readFileSync(join(site, "examples", "index.json"), "utf8"));
  const outcomes = [];
  for (let i = 1; i < options.length; i++) {
    const chosen = index.bundles[i - 1];
    const files = (f) => join(site, "examples", f);
    const signer = chosen.signer.keyless
      ? [
          "--certificate-identity",
          chosen.signer.keyless.subject,
          "--certificate-oidc-issuer",
          chosen.signer.keyless.issuer,
        ]
      : ["--key", files("key.pem")];
    const cliVerified =
      spawnSync(cli, [
        "verify-bundle",
        "--bundle",
        files(chosen.bundle),
        ...signer,
        "--trusted-root",
        files(chosen.trusted_root),
        chosen.digest,
      ]).status === 0;
    await page.selectOption("#bundle-example", String(i - 1));
    await page.waitForFunction(() => document.querySelector("#example-files").textContent !== "");
    await page.evaluate(() => delete document.querySelector("#decision").dataset.verified);
    await page.click("#verify");
    await page.waitForSelector("#decision[data-verified]");
    const verified = await page.$eval("#decision", (d) => d.dataset.verified === "true");
    assert.equal(verified, cliVerified, chosen.name);
    outcomes.push(verified);
  }
  assert.ok(outcomes.includes(true) && outcomes.includes(false), JSON.stringify(outcomes));
  assert.equal(outcomes.at(-1), false, "the bundle over another image is refused");
  await page.close();
});

test("once loaded, the page works offline", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  await page.selectOption("#example", "talos-open.yaml");
  await page.fill("#images", "nginx");
  const [row] = await rows(page, 1);
  assert.equal(row.reference, "docker.io/library/nginx");
  await context.close();
});
