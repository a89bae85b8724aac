"""A tiny name -> value registry whose lookups suggest the closest name on a miss."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

from distilcli.errors import BadInput

V = TypeVar("V")


class Registry(Generic[V]):
    """Stable names mapped to values; ``get`` raises :class:`BadInput` with a "did you mean"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, V] = {}

    def register(self, name: str, value: V) -> V:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = value
        return value

    def get(self, name: str) -> V:
        try:
            return self._items[name]
        except KeyError:
            raise BadInput(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown {self.kind} {name!r}: {hint}known: {', '.join(sorted(self._items))}"

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def items(self) -> list[tuple[str, V]]:
        return list(self._items.items())
