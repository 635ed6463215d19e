// The playground: the sigward component (the Node package's portable build,
// ./src and ./generated) decides as you type. Nothing leaves the page.
const $ = (selector) => document.querySelector(selector);
const status = $("#status");

let sigward;
try {
  sigward = await import("./src/index.js");
  status.textContent = "the component is loaded";
  status.dataset.state = "ready";
} catch (e) {
  status.textContent = `the component did not load: ${e.message}`;
  status.dataset.state = "failed";
  throw e;
}

/** A diagnostic as `sigward check` prints it. */
const line = (kind, d) =>
  `${kind}: ${d.rule === null ? "" : `rule (${String(d.rule).padStart(4, "0")}) `}${d.field}: ${d.message}`;

function cell(row, field, value) {
  const td = row.insertCell();
  td.dataset.field = field;
  td.dataset.value = value;
  td.textContent = value;
}

let policy = null;

/**
 * The 1-based line of a diagnostic in a block-style YAML policy: the rule's
 * list item under `rules:`, then the deepest key of its field found there.
 * Null when it cannot be placed (JSON, flow style).
 */
function lineOf(text, rule, field) {
  const lines = text.split("\n");
  const keys = field
    .split(".")
    .map((k) => k.replace(/\[\d+\]$/, ""))
    .filter(Boolean)
    .reverse();
  const keyAt = (from, to) => {
    for (const key of keys) {
      const pattern = new RegExp(`^\\s*(- )?["']?${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*:`);
      for (let i = from; i < to; i++) if (pattern.test(lines[i])) return i + 1;
    }
    return null;
  };
  if (rule === null) return keyAt(0, lines.length);
  const start = lines.findIndex((l) => /^rules\s*:/.test(l));
  if (start < 0) return null;
  const items = [];
  let indent = null;
  for (let i = start + 1; i < lines.length; i++) {
    const m = /^(\s*)- /.exec(lines[i]);
    if (/^\S/.test(lines[i])) break;
    if (m && (indent === null || m[1].length === indent)) {
      indent = m[1].length;
      items.push(i);
    }
  }
  if (rule >= items.length) return null;
  const end = rule + 1 < items.length ? items[rule + 1] : lines.length;
  return keyAt(items[rule], end) ?? items[rule] + 1;
}

/** Selects line `n` of the policy editor. */
function selectLine(n) {
  const editor = $("#policy");
  const lines = editor.value.split("\n");
  const from = lines.slice(0, n - 1).reduce((sum, l) => sum + l.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(from, from + lines[n - 1].length);
}

function checkPolicy() {
  const list = $("#diagnostics");
  list.replaceChildren();
  const add = (kind, d) => {
    const item = document.createElement("li");
    item.className = kind;
    item.dataset.rule = d.rule === null ? "-" : String(d.rule);
    item.dataset.field = d.field;
    const at = lineOf($("#policy").value, d.rule, d.field);
    const place = document.createElement("span");
    place.className = "line";
    if (at !== null) {
      item.dataset.line = String(at);
      place.textContent = `line ${at}`;
      place.addEventListener("click", () => selectLine(at));
    }
    const message = document.createElement("span");
    message.className = "text";
    message.textContent = line(kind, d);
    item.append(place, " ", message);
    list.append(item);
  };
  try {
    policy = sigward.Policy.parse($("#policy").value);
    for (const warning of policy.warnings) add("warning", warning);
  } catch (e) {
    policy = null;
    if (!(e instanceof sigward.PolicyError)) throw e;
    for (const error of e.diagnostics) add("error", error);
  }
}

function matchImages() {
  const body = $("#results tbody");
  body.replaceChildren();
  const images = $("#images")
    .value.split("\n")
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith("#"));
  for (const image of images) {
    const row = body.insertRow();
    cell(row, "image", image);
    if (!policy) {
      for (const [field, value] of [
        ["reference", ""],
        ["rule", "-"],
        ["action", "error"],
        ["message", "the policy does not load"],
      ]) {
        cell(row, field, value);
      }
      continue;
    }
    try {
      const m = policy.match(image);
      cell(row, "reference", m.reference);
      cell(row, "rule", m.rule === null ? "-" : String(m.rule));
      cell(row, "action", m.action);
      cell(row, "message", m.message);
    } catch (e) {
      if (!(e instanceof sigward.InvalidReference)) throw e;
      cell(row, "reference", "");
      cell(row, "rule", "-");
      cell(row, "action", "error");
      cell(row, "message", e.detail);
    }
  }
}

// The share link: the policy and images in the fragment, base64url of UTF-8.
const encode = (text) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
const decode = (text) =>
  new TextDecoder().decode(
    Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0)),
  );

function share() {
  const fragment = `p=${encode($("#policy").value)}&i=${encode($("#images").value)}`;
  $("#share").href = `#${fragment}`;
  history.replaceState(null, "", `#${fragment}`);
}

function fromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  try {
    if (params.has("p")) $("#policy").value = decode(params.get("p"));
    if (params.has("i")) $("#images").value = decode(params.get("i"));
  } catch {
    // A damaged link leaves the editors as they are.
  }
}

function update() {
  checkPolicy();
  matchImages();
  share();
}

/** The bundle and trusted root of the chosen bundle example, if any. */
let example = null;

async function loadExamples() {
  let index;
  try {
    index = await (await fetch("examples/index.json")).json();
  } catch {
    return;
  }
  const policies = $("#example");
  for (const name of index.policies) policies.add(new Option(name, name));
  policies.addEventListener("change", async () => {
    if (!policies.value) return;
    $("#policy").value = await (await fetch(`examples/${policies.value}`)).text();
    update();
  });
  const bundles = $("#bundle-example");
  for (const [i, b] of index.bundles.entries()) bundles.add(new Option(b.name, String(i)));
  bundles.addEventListener("change", async () => {
    example = null;
    $("#example-files").textContent = "";
    if (!bundles.value) return;
    const chosen = index.bundles[Number(bundles.value)];
    const bytes = async (file) => new Uint8Array(await (await fetch(`examples/${file}`)).arrayBuffer());
    example = { bundle: await bytes(chosen.bundle), root: await bytes(chosen.trusted_root) };
    $("#example-files").textContent = `using examples/${chosen.bundle} and examples/${chosen.trusted_root}`;
    $("#artifact-digest").value = chosen.digest;
    const { keyless, public_key: key } = chosen.signer;
    $("#issuer").value = keyless?.issuer ?? "";
    $("#subject").value = keyless?.subject ?? "";
    $("#key").value = key ?? "";
  });
}

const readFile = async (input) =>
  input.files.length ? new Uint8Array(await input.files[0].arrayBuffer()) : null;

async function verify() {
  const out = $("#decision");
  out.replaceChildren();
  const show = (verified, title, checks) => {
    out.dataset.verified = String(verified);
    const heading = document.createElement("p");
    heading.className = verified ? "passed" : "failed";
    heading.textContent = title;
    const list = document.createElement("ol");
    for (const c of checks) {
      const item = document.createElement("li");
      item.className = c.outcome;
      item.dataset.check = c.name;
      item.dataset.outcome = c.outcome;
      item.textContent = `${c.outcome} ${c.name}: ${c.detail}`;
      list.append(item);
    }
    out.append(heading, list);
  };
  try {
    const [bundleFile, rootFile, artifactBytes] = await Promise.all(
      ["#bundle", "#trusted-root", "#artifact"].map((s) => readFile($(s))),
    );
    // A file picked wins over the chosen example.
    const bundle = bundleFile ?? example?.bundle;
    const root = rootFile ?? example?.root;
    if (!bundle || !root) throw new Error("a bundle and a trusted root are needed");
    const digest = $("#artifact-digest").value.trim();
    let artifact;
    if (artifactBytes) artifact = artifactBytes;
    else if (digest.startsWith("sha256:")) artifact = sigward.Artifact.fromSha256(digest.slice(7));
    else throw new Error("an artifact or its sha256:<hex> digest is needed");
    const key = $("#key").value.trim();
    const signer = key
      ? new sigward.PublicKey(key)
      : new sigward.KeylessIdentity({
          issuer: $("#issuer").value.trim(),
          subject: $("#subject").value.trim(),
        });
    const started = performance.now();
    const trace = sigward.verifyBundle(bundle, artifact, signer, sigward.TrustedRoot.parse(root));
    out.dataset.ms = (performance.now() - started).toFixed(2);
    show(true, "verified", trace);
  } catch (e) {
    if (e instanceof sigward.BundleError) {
      show(false, `not verified: ${e.check}: ${e.detail}`, [
        ...e.trace,
        { name: e.check, outcome: "failed", detail: e.detail },
      ]);
    } else {
      show(false, `not verified: ${e.message}`, []);
    }
  }
}

fromFragment();
for (const id of ["#policy", "#images"]) $(id).addEventListener("input", update);
$("#verify").addEventListener("click", verify);
update();
await loadExamples();
if ("serviceWorker" in navigator) {
  // Offline use once loaded; the page works the same without it.
  navigator.serviceWorker.register("sw.js").catch(() => {});
}
document.body.dataset.ready = "true";
