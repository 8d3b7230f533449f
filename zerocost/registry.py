"""The proxy registry: a plain dict ``name -> Proxy`` with an explicit :func:`register_proxy`."""

from __future__ import annotations

from .measures import BUILTIN
from .spec import Proxy

#: name -> Proxy. Extend it with :func:`register_proxy`.
PROXIES: dict[str, Proxy] = {p.name: p for p in BUILTIN}


def register_proxy(proxy: Proxy) -> Proxy:
    """Add a user-defined proxy to :data:`PROXIES`.

    Raises
    ------
    ValueError
        If a proxy with the same name is already registered.
    """
    if proxy.name in PROXIES:
        raise ValueError(f"a proxy named {proxy.name!r} is already registered")
    PROXIES[proxy.name] = proxy
    return proxy


def list_proxies() -> list[str]:
    """Names accepted by :func:`nasperf.zerocost.compute_proxies` (``"all"`` means all of these)."""
    return list(PROXIES)


def get_proxy(name: str) -> Proxy:
    """The :class:`Proxy` registered as ``name``."""
    try:
        return PROXIES[name]
    except KeyError:
        raise ValueError(f"unknown proxy {name!r}; known: {', '.join(PROXIES)}") from None


def resolve_proxies(proxies: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Normalise ``"all"``, a comma-separated string, or a list into validated names."""
    if proxies is None or proxies == "all":
        return list_proxies()
    if isinstance(proxies, str):
        proxies = [p.strip() for p in proxies.split(",") if p.strip()]
    names = list(dict.fromkeys(proxies))
    if not names:
        raise ValueError("no proxies requested")
    for n in names:
        get_proxy(n)
    return names
