"""A Sigstore `trusted_root.json`, parsed once and reused."""

from __future__ import annotations

import threading
from typing import Any

from wasmtime.component import ResourceAny

from . import _convert
from ._component import Instance
from .errors import TrustedRootError
from .types import as_text

_shared_lock = threading.Lock()
_shared_instance: Instance | None = None


def shared_instance() -> Instance:
    """The instance that checks trusted roots and verifies lone bundles; a
    new one after a trap stopped it."""
    global _shared_instance
    with _shared_lock:
        if _shared_instance is None or _shared_instance.poisoned:
            _shared_instance = Instance()
        return _shared_instance


class TrustedRoot:
    """The Sigstore `TrustedRoot`: Fulcio CAs, Rekor and CT log keys, TSAs.

    A `Policy` runs in its own instance and loads the root there on first use.
    """

    def __init__(self, text: str, instance: Instance, handle: Any) -> None:
        self._text = text
        self._instance = instance
        self._handle = handle

    @classmethod
    def parse(cls, data: str | bytes) -> TrustedRoot:
        """Parses `trusted_root.json`; raises `TrustedRootError` with every problem found."""
        text = as_text(data)
        instance = shared_instance()
        return cls(text, instance, _parse(instance, text))

    def _load_into(self, instance: Instance) -> Any:
        """This root's handle in `instance`, parsed there (it parsed before).
        A root whose instance has stopped moves to the new shared one."""
        if instance is self._instance:
            return self._handle
        handle = _parse(instance, self._text)
        if self._instance.poisoned and instance is shared_instance():
            self._instance, self._handle = instance, handle
        return handle


def _parse(instance: Instance, text: str) -> ResourceAny:
    answer = _convert.result(
        instance.call("[static]trusted-root.parse", text), "trusted-root.parse"
    )
    if not answer.ok:
        raise TrustedRootError(_convert.diagnostics(answer.payload))
    return answer.payload
