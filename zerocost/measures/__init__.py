"""The built-in proxies, one module each (see each module's docstring for its definition,
sign convention, mode and reference)."""

from . import (
    epe_nas,
    fisher,
    flops,
    grad_norm,
    grasp,
    jacov,
    l2_norm,
    ntk,
    nwot,
    params,
    plain,
    snip,
    synflow,
    zen,
)

#: In this order: synflow, nwot, jacov, snip, grasp, fisher, grad_norm, l2_norm,
#: plain, epe_nas, zen, ntk, params, flops.
BUILTIN = tuple(m.PROXY for m in (synflow, nwot, jacov, snip, grasp, fisher, grad_norm, l2_norm,
                                  plain, epe_nas, zen, ntk, params, flops))
