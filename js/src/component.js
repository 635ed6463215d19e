// The component: its core modules compiled once, when this module loads;
// one instance per policy, made synchronously from them. V8 has no fuel:
// a call runs to its end, bounded by the core's own limits.

import { modules } from "../generated/modules.js";
import { instantiate } from "../generated/sigward.js";
import { ComponentError } from "./errors.js";

/** The interface this package speaks. */
export const INTERFACE = "sigward:verifier/engine@0.5.0";

const inNode = typeof process !== "undefined" && Boolean(process.versions?.node);

async function compile(name) {
  const url = new URL(`../generated/${name}`, import.meta.url);
  if (inNode) {
    const { readFile } = await import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  return WebAssembly.compileStreaming(fetch(url));
}

const compiled = new Map(await Promise.all(modules.map(async (name) => [name, await compile(name)])));

/** A thrown `result` error of the generated glue carries its payload. */
const isResultError = (e) => e instanceof Error && Object.hasOwn(e, "payload");

/** One instance of the component. A trap leaves it unusable. */
export class Instance {
  constructor() {
    try {
      const root = instantiate((name) => compiled.get(name), { "sigward:verifier/types": {} });
      this.engine = root[INTERFACE];
    } catch (e) {
      throw new ComponentError(`could not start the sigward component: ${e.message}`);
    }
    if (!this.engine) throw new ComponentError(`the component does not export ${INTERFACE}`);
    this.poisoned = false;
  }

  /**
   * Runs `call(engine)`. A `result` error goes to `onError`, whose answer
   * (or throw) is the call's; anything else thrown is a trap.
   */
  call(call, onError) {
    if (this.poisoned) {
      throw new ComponentError("the sigward component stopped earlier and was not restarted");
    }
    try {
      return call(this.engine);
    } catch (e) {
      if (isResultError(e) && onError) return onError(e.payload);
      this.poisoned = true;
      throw new ComponentError(`the sigward component stopped: ${e?.message ?? e}`);
    }
  }
}
