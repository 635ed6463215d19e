"""Values across the component boundary, written and read directly.

wasmtime-py converts each value by asking the C API for its type, on every
call, and lowers a `list<u8>` one element at a time: through it, a bundle
verification that takes 1 ms inside the component took 2.8 ms. The C API's
values (`wasmtime_component_val_t`) describe themselves, so this module
reads them by their kind with no type lookups, and writes them from the
explicit shapes below, a `list<u8>` in one strided copy. It uses the ctypes
bindings of wasmtime-py (`wasmtime._ffi`), pinned to the version this
package depends on; the component's types are checked once, when it loads
(`_component.Instance`), and the vectors exercise every shape.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from wasmtime import _ffi as ffi
from wasmtime.component import Func, ResourceAny
from wasmtime.component._enter import enter_wasm

_Val = ffi.wasmtime_component_val_t
_VAL_SIZE = ctypes.sizeof(_Val)
_UNION_OFFSET = _Val.of.offset

BOOL = ffi.WASMTIME_COMPONENT_BOOL.value
U8 = ffi.WASMTIME_COMPONENT_U8.value
U32 = ffi.WASMTIME_COMPONENT_U32.value
S64 = ffi.WASMTIME_COMPONENT_S64.value
STRING = ffi.WASMTIME_COMPONENT_STRING.value
LIST = ffi.WASMTIME_COMPONENT_LIST.value
RECORD = ffi.WASMTIME_COMPONENT_RECORD.value
TUPLE = ffi.WASMTIME_COMPONENT_TUPLE.value
VARIANT = ffi.WASMTIME_COMPONENT_VARIANT.value
ENUM = ffi.WASMTIME_COMPONENT_ENUM.value
OPTION = ffi.WASMTIME_COMPONENT_OPTION.value
RESULT = ffi.WASMTIME_COMPONENT_RESULT.value
RESOURCE = ffi.WASMTIME_COMPONENT_RESOURCE.value


# The shapes a value is written from. A `str` is a string, `bytes` a
# list<u8>, a `list` a list, a `tuple` a tuple, a ResourceAny a borrow.


_INT_RANGES = {"s64": (-(2**63), 2**63), "u32": (0, 2**32)}


@dataclass(frozen=True)
class Int:
    """An integer of the WIT type `kind`, `s64` or `u32`; out of its range,
    a ValueError (ctypes would wrap it silently)."""

    value: int
    kind: str = "s64"

    def __post_init__(self) -> None:
        low, high = _INT_RANGES[self.kind]
        if not low <= self.value < high:
            raise ValueError(f"{self.value} is out of the range of a WIT {self.kind}")


@dataclass(frozen=True)
class Record:
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Case:
    """A variant case, with its payload or None."""

    name: str
    payload: Any = None


@dataclass(frozen=True)
class Option:
    """An option: its value, or None."""

    value: Any = None


@dataclass(frozen=True)
class Result:
    """What a function's `result` read as: ok or not, and the payload."""

    ok: bool
    payload: Any


def _name(text: str) -> Any:
    return ffi.str_to_capi(text)


def _write(value: Any, into: Any) -> None:
    """Writes `value` into the C value `into`, which owns what it allocates."""
    if isinstance(value, str):
        into.of.string = _name(value)
        into.kind = STRING
    elif isinstance(value, bytes):
        into.of.list = _u8_list(value)
        into.kind = LIST
    elif isinstance(value, list):
        vec = ffi.wasmtime_component_vallist_t()
        ffi.wasmtime_component_vallist_new_uninit(vec, len(value))
        for i, item in enumerate(value):
            _write(item, vec.data[i])
        into.of.list = vec
        into.kind = LIST
    elif isinstance(value, tuple):
        vec = ffi.wasmtime_component_valtuple_t()
        ffi.wasmtime_component_valtuple_new_uninit(vec, len(value))
        for i, item in enumerate(value):
            _write(item, vec.data[i])
        into.of.tuple = vec
        into.kind = TUPLE
    elif isinstance(value, Record):
        record = ffi.wasmtime_component_valrecord_t()
        ffi.wasmtime_component_valrecord_new_uninit(record, len(value.fields))
        for i, (name, field) in enumerate(value.fields):
            record.data[i].name = _name(name)
            _write(field, record.data[i].val)
        into.of.record = record
        into.kind = RECORD
    elif isinstance(value, Case):
        into.of.variant.discriminant = _name(value.name)
        into.of.variant.val = _boxed(value.payload) if value.payload is not None else None
        into.kind = VARIANT
    elif isinstance(value, Option):
        into.of.option = _boxed(value.value) if value.value is not None else None
        into.kind = OPTION
    elif isinstance(value, Int):
        if value.kind == "s64":
            into.of.s64 = value.value
            into.kind = S64
        else:
            into.of.u32 = value.value
            into.kind = U32
    elif isinstance(value, ResourceAny):
        into.of.resource = ffi.wasmtime_component_resource_any_clone(value.ptr())
        into.kind = RESOURCE
    else:
        raise TypeError(f"no component value is written from {type(value).__name__}")


def _boxed(value: Any) -> Any:
    raw = _Val()
    _write(value, raw)
    return ffi.wasmtime_component_val_new(ctypes.byref(raw))


def _u8_list(data: bytes) -> Any:
    # An array of `u8` values built as one buffer: each value's kind byte and
    # its payload byte set by two strided slice assignments.
    n = len(data)
    buffer = bytearray(n * _VAL_SIZE)
    buffer[0::_VAL_SIZE] = bytes([U8]) * n
    buffer[_UNION_OFFSET::_VAL_SIZE] = data
    items = (_Val * n).from_buffer(buffer)
    vec = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new(ctypes.byref(vec), n, items)
    return vec


def _text(vec: Any) -> str:
    return ctypes.string_at(vec.data, vec.size).decode("utf-8") if vec.size else ""


def _read(c: Any) -> Any:
    """The Python value of C value `c`: a record as a dict, a variant as a
    `Case`, an option as its value or None, a result as a `Result`. An owned
    resource is taken out of `c`, which is left holding a bool."""
    kind = c.kind
    if kind == STRING:
        return _text(c.of.string)
    if kind == RECORD:
        record = c.of.record
        return {_text(record.data[i].name): _read(record.data[i].val) for i in range(record.size)}
    if kind == LIST:
        vec = c.of.list
        return [_read(vec.data[i]) for i in range(vec.size)]
    if kind == ENUM:
        return _text(c.of.enumeration)
    if kind == OPTION:
        return _read(c.of.option.contents) if c.of.option else None
    if kind == BOOL:
        return bool(c.of.boolean)
    if kind == U32:
        return int(c.of.u32)
    if kind == RESULT:
        result = c.of.result
        return Result(bool(result.is_ok), _read(result.val.contents) if result.val else None)
    if kind == VARIANT:
        variant = c.of.variant
        payload = _read(variant.val.contents) if variant.val else None
        return Case(_text(variant.discriminant), payload)
    if kind == TUPLE:
        vec = c.of.tuple
        return tuple(_read(vec.data[i]) for i in range(vec.size))
    if kind == RESOURCE:
        resource = ResourceAny._from_ptr(ffi.take_pointer(c.of, "resource"))
        c.kind = BOOL
        c.of.boolean = False
        return resource
    raise TypeError(f"the component gave a value of kind {kind}, which sigward never returns")


def call(func: Func, store: Any, *params: Any) -> Any:
    """Calls `func` with `params` written as above, and reads its result."""
    n = len(params)
    raw = (_Val * n)()
    written = 0
    try:
        for param in params:
            _write(param, raw[written])
            written += 1
        result = _Val()
        context = store._context()
        enter_wasm(
            lambda: ffi.wasmtime_component_func_call(
                ctypes.byref(func._func), context, raw, n, ctypes.byref(result), 1
            )
        )
        try:
            return _read(result)
        finally:
            ffi.wasmtime_component_val_delete(ctypes.byref(result))
            enter_wasm(
                lambda: ffi.wasmtime_component_func_post_return(ctypes.byref(func._func), context)
            )
    finally:
        for i in range(written):
            ffi.wasmtime_component_val_delete(ctypes.byref(raw[i]))
