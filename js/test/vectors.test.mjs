// Every line of vectors/decisions.jsonl, through the package (portable
// component under V8), must give its frozen `expect` field for field.
import assert from "node:assert/strict";
import { test } from "node:test";

import { lines, Replay, sharedDir } from "./vectors.mjs";

test("every vector gives its expected answer", () => {
  const replay = new Replay(sharedDir());
  const all = lines();
  assert.ok(all.length >= 200);
  const differ = [];
  for (const line of all) {
    const got = replay.answer(line);
    try {
      assert.deepStrictEqual(got, line.expect);
    } catch {
      differ.push(
        `${line.id}:\n  expected ${JSON.stringify(line.expect)}\n  got      ${JSON.stringify(got)}`,
      );
    }
  }
  assert.equal(differ.length, 0, `${differ.length} of ${all.length} vectors differ:\n${differ.join("\n")}`);
});
