"""The wasmtime side: one compiled component per process, one store per user.

The fast component needs wasm's `wide-arithmetic` proposal, which wasmtime
has. Compiling it takes about a second, so the compiled code is kept in the
user's cache directory, keyed by the component's SHA-256 and wasmtime's
version, after the SHA-256 of the code itself. A file that is damaged, or
that wasmtime refuses for this engine, is compiled again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from wasmtime import Config, Engine, Store, Trap, WasmtimeError
from wasmtime.component import Component, Func, Linker

from . import _abi
from .errors import ComponentError

INTERFACE = "sigward:verifier/engine@0.5.0"
"""The interface this package speaks; a component of another version is refused."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one instance, as the Rust host sets them."""

    memory_bytes: int = 256 * 1024 * 1024
    """Linear memory the component may grow to."""
    fuel_per_call: int = 20_000_000_000
    """Fuel (roughly, wasm instructions) one call may burn."""


# Each export this package calls, with its number of parameters.
_FUNCTIONS = {
    "verify-bundle": 4,
    "[static]trusted-root.parse": 1,
    "[static]policy.parse": 1,
    "[method]policy.warnings": 1,
    "[method]policy.rule-count": 1,
    "[method]policy.match-image": 2,
    "[method]policy.verify": 4,
    "[method]policy.attestation-types": 2,
    "[method]policy.verify-attested": 6,
    "[method]policy.gates-on-advisories": 2,
    "[method]policy.verify-with-advisories": 7,
    "[method]policy.sbom": 5,
    "[method]policy.affected": 6,
}

_lock = threading.Lock()
_loaded: tuple[Engine, Component] | None = None


def _cache_dir() -> Path:
    explicit = os.environ.get("SIGWARD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sigward" / "python"


def _compiled(engine: Engine, wasm: bytes) -> Component:
    key = hashlib.sha256(wasm + metadata.version("wasmtime").encode()).hexdigest()
    path = _cache_dir() / f"{key}.cwasm"
    try:
        cached = path.read_bytes()
        code = cached[32:]
        # wasmtime runs this as machine code: only whole files are loaded.
        if hashlib.sha256(code).digest() == cached[:32]:
            return Component.deserialize(engine, code)
    except (OSError, WasmtimeError):
        pass
    component = Component(engine, wasm)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        code = bytes(component.serialize())
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
            out.write(hashlib.sha256(code).digest() + code)
        os.replace(out.name, path)
    except OSError:
        pass  # a read-only cache only costs the next process a compile
    return component


def loaded() -> tuple[Engine, Component]:
    """The engine and the compiled component, made once per process."""
    global _loaded
    with _lock:
        if _loaded is None:
            config = Config()
            config.wasm_wide_arithmetic = True
            config.consume_fuel = True
            engine = Engine(config)
            wasm = resources.files(__package__).joinpath("sigward.wasm").read_bytes()
            _loaded = (engine, _compiled(engine, wasm))
        return _loaded


class Instance:
    """One instance of the component in its own store, with limits. Calls are
    serialized; a trap leaves it unusable."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        engine, component = loaded()
        self.store = Store(engine)
        self.store.set_limits(memory_size=self.limits.memory_bytes)
        self.store.set_fuel(self.limits.fuel_per_call)
        self._lock = threading.Lock()
        self._poisoned = False
        try:
            instance = Linker(engine).instantiate(self.store, component)
        except WasmtimeError as e:
            raise ComponentError(f"could not start the sigward component: {e}") from e
        interface = instance.get_export_index(self.store, INTERFACE)
        if interface is None:
            raise ComponentError(f"the component does not export {INTERFACE}")
        self._functions: dict[str, Func] = {}
        for name, arity in _FUNCTIONS.items():
            index = instance.get_export_index(self.store, name, interface)
            function = instance.get_func(self.store, index) if index is not None else None
            if function is None or len(function.type(self.store).params) != arity:
                raise ComponentError(f"the component's {INTERFACE} lacks {name}/{arity}")
            self._functions[name] = function

    def call(self, name: str, *args: Any) -> Any:
        """Calls one export with a fresh fuel budget."""
        function = self._functions[name]
        with self._lock:
            if self._poisoned:
                raise ComponentError("the sigward component stopped earlier and was not restarted")
            try:
                self.store.set_fuel(self.limits.fuel_per_call)
                result = _abi.call(function, self.store, *args)
            except (Trap, WasmtimeError) as e:
                self._poisoned = True
                raise ComponentError(f"the sigward component stopped: {e}") from e
            return result

    @property
    def poisoned(self) -> bool:
        """Whether a trap has left this instance unusable."""
        return self._poisoned

    def drop(self, resource: Any) -> None:
        with self._lock:
            if not self._poisoned:
                resource.drop(self.store)
