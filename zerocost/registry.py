"""The proxy registry: a plain dict ``name -> Proxy`` with an explicit :func:`register_proxy`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .measures import BUILTIN
from .spec import Proxy

if TYPE_CHECKING:
    from .context import ProxyContext

#: name -> Proxy. Extend it with :func:`register_proxy`.
PROXIES: dict[str, Proxy] = {p.name: p for p in BUILTIN}


def register_proxy(name: str | Proxy, fn: Callable[[ProxyContext], float] | None = None, *,
                   overwrite: bool = False, **spec: Any) -> Proxy:
    """Add a user-defined proxy to :data:`PROXIES`.

    Parameters
    ----------
    name : str or Proxy
        The proxy's name, with ``fn``; or a complete :class:`Proxy` (then ``fn`` and
        ``spec`` must be omitted).
    fn : callable
        ``fn(ctx: ProxyContext) -> float`` (see :class:`Proxy`).
    overwrite : bool, default False
        Replace a proxy already registered under the name (built-in or user-defined).
    **spec
        The other :class:`Proxy` fields: ``needs``, ``higher_is_better``, ``mode``,
        ``needs_targets``, ``reference``, ``options``, ``check_options``.

    Returns
    -------
    Proxy
        The registered specification.

    Raises
    ------
    ValueError
        If a proxy with the same name is already registered and ``overwrite`` is False, or
        the specification is invalid.

    Examples
    --------
    >>> from nasperf.zerocost import register_proxy, PROXIES
    >>> p = register_proxy("out_norm", lambda ctx: float(ctx.product("output").norm()),
    ...                    needs={"output"}, overwrite=True)
    >>> p.needs
    frozenset({'output'})
    >>> _ = PROXIES.pop("out_norm")
    """
    if isinstance(name, Proxy):
        if fn is not None or spec:
            raise ValueError("register_proxy(proxy) takes a Proxy alone; pass either a Proxy "
                             "or a name and fn (with the other fields as keywords)")
        proxy = name
    else:
        if fn is None:
            raise ValueError(f"register_proxy({name!r}) needs fn(ctx) -> float")
        proxy = Proxy(name, fn, **spec)
    if proxy.name in PROXIES and not overwrite:
        raise ValueError(f"a proxy named {proxy.name!r} is already registered; pass "
                         "overwrite=True to replace it")
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


def check_options(options: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Validate ``options={proxy: {key: value}}`` before any pass runs.

    Raises
    ------
    ValueError
        An unknown proxy name, an option that is not a dict, an unknown key (the message
        names the key and the valid ones), or a value the proxy's ``check_options`` rejects.
    """
    options = dict(options or {})
    unknown = set(options) - set(PROXIES)
    if unknown:
        raise ValueError(f"options given for unknown proxies {sorted(unknown)}; "
                         f"known: {', '.join(PROXIES)}")
    for name, opts in options.items():
        if not isinstance(opts, dict):
            raise ValueError(f"options[{name!r}] must be a dict of option -> value, got "
                             f"{type(opts).__name__}")
        spec = PROXIES[name]
        bad = sorted(set(opts) - spec.options, key=str)
        if bad:
            valid = ", ".join(sorted(spec.options)) or "none"
            raise ValueError(f"unknown option(s) {', '.join(map(repr, bad))} for proxy "
                             f"{name!r}; valid options: {valid}")
        if spec.check_options is not None:
            spec.check_options(opts)
    return options
