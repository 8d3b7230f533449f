"""Name -> search-space class, resolved lazily so that importing one space stays cheap."""

from __future__ import annotations

from importlib import import_module

from .base import SearchSpace

#: Benchmark spaces by name, as ``module:Class`` inside this package.
SPACES: dict[str, str] = {
    "nb101": "nb101:NB101Space",
    "nb201": "cell6:NB201Space",
    "nb301": "nb301:NB301Space",
    "tnb101_micro": "cell6:TNB101MicroSpace",
    "tnb101_macro": "tnb101_macro:TNB101MacroSpace",
}


def list_spaces() -> list[str]:
    """Names accepted by :func:`get_space`."""
    return list(SPACES)


def get_space(space: str | SearchSpace) -> SearchSpace:
    """A search space by name (``"nb201"``, ...), or ``space`` itself if it is one already.

    Users bring their own space by passing any :class:`SearchSpace` instance wherever a
    space name is accepted.
    """
    if isinstance(space, SearchSpace):
        return space
    if not isinstance(space, str) or space.lower() not in SPACES:
        raise ValueError(f"unknown search space {space!r}; known: {', '.join(SPACES)}")
    module, cls = SPACES[space.lower()].split(":")
    return getattr(import_module(f"{__package__}.{module}"), cls)()
