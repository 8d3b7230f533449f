"""Name -> search space. The built-in spaces are imported lazily so that importing one stays
cheap; users add theirs with :func:`register_space`."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from .base import SearchSpace

#: Lower-case name -> the benchmark spaces as ``module:Class`` inside this package, and the
#: spaces added by :func:`register_space` as their factory.
SPACES: dict[str, str | Callable[[], SearchSpace]] = {
    "nb101": "nb101:NB101Space",
    "nb201": "cell6:NB201Space",
    "nb301": "nb301:NB301Space",
    "tnb101_micro": "cell6:TNB101MicroSpace",
    "tnb101_macro": "tnb101_macro:TNB101MacroSpace",
}


def register_space(name: str, factory: Callable[[], SearchSpace], *,
                   overwrite: bool = False) -> None:
    """Make a search space available by name to :func:`get_space` and everything that
    takes a space name (encoders, GRAF, the bias quantities, the CLI).

    Parameters
    ----------
    name : str
        The name (case-insensitive, stored lower-case).
    factory : callable
        Called without arguments to build the space, e.g. the ``SearchSpace`` subclass.
    overwrite : bool
        Replace a space already known under ``name`` (built-in or registered).

    Raises
    ------
    ValueError
        ``name`` is empty or already taken and ``overwrite`` is False.
    TypeError
        ``factory`` is not callable.

    Examples
    --------
    >>> from nasperf.searchspaces import register_space, get_space
    >>> register_space("my_nb201", lambda: get_space("nb201"), overwrite=True)
    >>> get_space("my_nb201").name
    'nb201'
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a space name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable (e.g. a SearchSpace subclass), got "
                        f"{type(factory).__name__}")
    key = name.strip().lower()
    if key in SPACES and not overwrite:
        raise ValueError(f"search space {key!r} is already registered; pass overwrite=True "
                         "to replace it")
    SPACES[key] = factory


def list_spaces() -> list[str]:
    """Names accepted by :func:`get_space`: the built-in spaces, then registered ones."""
    return list(SPACES)


def get_space(space: str | SearchSpace) -> SearchSpace:
    """A search space by name (``"nb201"``, ...), or ``space`` itself if it is one already.

    Users bring their own space by passing any :class:`SearchSpace` instance wherever a
    space name is accepted, or by registering it with :func:`register_space`.
    """
    if isinstance(space, SearchSpace):
        return space
    key = space.lower() if isinstance(space, str) else None
    if key not in SPACES:
        raise ValueError(f"unknown search space {space!r}; known: {', '.join(SPACES)}")
    entry = SPACES[key]
    if isinstance(entry, str):
        module, cls = entry.split(":")
        return getattr(import_module(f"{__package__}.{module}"), cls)()
    made = entry()
    if not isinstance(made, SearchSpace):
        raise TypeError(f"the factory registered for {key!r} returned a "
                        f"{type(made).__name__}, not a SearchSpace")
    return made
