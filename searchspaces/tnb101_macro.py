"""TransNAS-Bench-101 macro (skeleton-level) space (Duan et al., CVPR 2021).

An architecture is a sequence of 4 to 6 module codes; every module stacks two ResNet basic
blocks (see :mod:`nasperf.searchspaces.models.tnb101`). Codes, from the official ``MacroNet``
("channel change: [2, 4]; stride change: [3, 4]")::

    1 keep (basic)   2 channels x2 (basic_widen)   3 resolution /2 (basic_down)
    4 channels x2 and resolution /2 (basic_down_widen)

The space holds the skeletons with 4..6 modules, 1..4 downsampling modules (codes 3, 4) and
1..3 widening modules (codes 2, 4): 210 + 750 + 2,296 = **3,256** architectures, the
``macro`` list of the official API. These are exactly the constraints of NASLib's sampler
(``TransBench101SearchSpaceMacro.sample_random_architecture``: ``r + 4`` modules, ``p`` in
1..4 downsampling, ``q`` in 1..3 widening) and match every key of
``archs_transbench101_macro.json``.

Forms
-----
* official string ``64-{codes}-basic``, e.g. ``64-1234-basic``;
* NASLib tuple of the codes, unpadded ``(1, 2, 3, 4)`` (the form of
  ``archs_transbench101_macro.json``, returned by :meth:`TNB101MacroSpace.to_tuple`) or padded
  with trailing zeros to length 6 ``(1, 2, 3, 4, 0, 0)`` (NASLib's ``op_indices`` and other
  NAS-Bench-Suite-Zero files; ``to_tuple(arch, padded=True)``), as tuple, list, NumPy array or
  their ``str``;
* a list of op names, e.g. ``["basic", "basic_widen", "basic_down", "basic_down_widen"]``.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import SearchSpace, as_int, check_count, check_num_classes, check_seed
from .benchmarks import TNB101_TARGETS, TNB101_TASKS, BenchmarkInfo, load_tnb101_macro
from .errors import InvalidArchitectureError
from .features import GRAFSpaceConfig, OneHotLayout, tnb101_macro_layout
from .graph import INPUT, OUTPUT, ArchGraph
from .taxonomy import taxonomy

#: Op name per code (index = code; 0 is the padding of NASLib's length-6 tuples).
MACRO_OPS: tuple[str, ...] = ("none", "basic", "basic_widen", "basic_down", "basic_down_widen")
MIN_MODULES, MAX_MODULES = 4, 6
#: Allowed number of downsampling modules (codes 3 and 4).
DOWNSAMPLE_RANGE = (1, 4)
#: Allowed number of channel-doubling modules (codes 2 and 4).
WIDEN_RANGE = (1, 3)
BASE_CHANNELS = 64
PADDED_LENGTH = 6

_STRING = re.compile(r"(\d+)-(\d+)-basic", re.ASCII)


def _validate(codes: Any, where: str) -> tuple[int, ...]:
    """Codes as a tuple of ints, or an error naming the violated rule."""
    if isinstance(codes, (str, bytes)) or not isinstance(codes, Sequence):
        raise InvalidArchitectureError(f"{where}: codes must be a sequence of ints, got "
                                       f"{type(codes).__name__}")
    if not MIN_MODULES <= len(codes) <= MAX_MODULES:
        raise InvalidArchitectureError(
            f"{where}: a macro skeleton has {MIN_MODULES}..{MAX_MODULES} modules, "
            f"got {len(codes)}"
        )
    out = tuple(as_int(c, f"{where}, module {k}") for k, c in enumerate(codes))
    for k, c in enumerate(out):
        if not 1 <= c <= 4:
            raise InvalidArchitectureError(
                f"{where}: module {k} has code {c}; valid codes are 1..4 "
                "(1 keep, 2 widen, 3 downsample, 4 downsample and widen)"
            )
    n_down = sum(c >= 3 for c in out)
    n_widen = sum(c % 2 == 0 for c in out)
    if not DOWNSAMPLE_RANGE[0] <= n_down <= DOWNSAMPLE_RANGE[1]:
        raise InvalidArchitectureError(
            f"{where}: {n_down} downsampling modules (codes 3, 4); the space allows "
            f"{DOWNSAMPLE_RANGE[0]}..{DOWNSAMPLE_RANGE[1]}"
        )
    if not WIDEN_RANGE[0] <= n_widen <= WIDEN_RANGE[1]:
        raise InvalidArchitectureError(
            f"{where}: {n_widen} channel-doubling modules (codes 2, 4); the space allows "
            f"{WIDEN_RANGE[0]}..{WIDEN_RANGE[1]}"
        )
    return out


@dataclass(frozen=True)
class TNB101MacroArch:
    """A TransNAS-Bench-101 macro skeleton; ``str(arch)`` is the official string.

    ``codes`` are validated on construction (4..6 codes in 1..4, 1..4 downsampling and 1..3
    widening modules), so every instance is a member of the space.
    """

    codes: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", _validate(self.codes, "tnb101_macro"))

    @property
    def n_downsample(self) -> int:
        """Modules that halve the resolution (codes 3 and 4)."""
        return sum(c >= 3 for c in self.codes)

    @property
    def n_widen(self) -> int:
        """Modules that double the channels (codes 2 and 4)."""
        return sum(c % 2 == 0 for c in self.codes)

    @property
    def ops(self) -> tuple[str, ...]:
        """Op name of every module."""
        return tuple(MACRO_OPS[c] for c in self.codes)

    def __str__(self) -> str:
        return f"{BASE_CHANNELS}-{''.join(map(str, self.codes))}-basic"


@functools.cache
def _all_codes() -> tuple[tuple[int, ...], ...]:
    """Every valid skeleton, by length then lexicographically (immutable, computed once)."""
    out = []
    for n in range(MIN_MODULES, MAX_MODULES + 1):
        for codes in itertools.product(range(1, 5), repeat=n):
            n_down = sum(c >= 3 for c in codes)
            n_widen = sum(c % 2 == 0 for c in codes)
            if (DOWNSAMPLE_RANGE[0] <= n_down <= DOWNSAMPLE_RANGE[1]
                    and WIDEN_RANGE[0] <= n_widen <= WIDEN_RANGE[1]):
                out.append(codes)
    return tuple(out)


@functools.cache
def _valid_codes() -> frozenset[tuple[int, ...]]:
    return frozenset(_all_codes())


class TNB101MacroSpace(SearchSpace):
    """TransNAS-Bench-101 macro space (3,256 skeletons); forms in the module docstring.

    ``ops`` lists the op name of each integer code, index 0 being NASLib's padding
    (``"none"``, never part of an architecture).
    """

    name = "tnb101_macro"
    ops = MACRO_OPS
    arch_type = TNB101MacroArch
    #: Residual blocks are neither a single conv nor a pool: kind ``other``.
    op_taxonomy = taxonomy({"none": "none", **{op: "other" for op in MACRO_OPS[1:]}})
    #: A chain of 4 to 6 modules.
    path_lengths = (4, 6)
    archs_file = "archs/archs_transbench101_macro.json"
    #: NAS-Bench-Suite-Zero's table of the 7 tasks; ``val_accuracy`` is task-specific
    #: (``targets``; ``room_layout``: the negated loss).
    benchmark_info = BenchmarkInfo(
        TNB101_TASKS, ("zc",), load_tnb101_macro, "task",
        files=("nas-bench-suite-zero/zc_transbench101_macro.json",), targets=TNB101_TARGETS)

    def onehot_layout(self) -> OneHotLayout:
        """One-hot of the block code at each of the 6 positions (``missing`` for shorter
        networks): 30 columns, categorical: the 6 codes."""
        return tnb101_macro_layout(self)

    def graf_config(self) -> GRAFSpaceConfig:
        """The paper counts module types and tracks how often the channels were doubled
        (``channel``) and the resolution halved (``stride``) up to each of the 6 positions."""
        return GRAFSpaceConfig(
            ("op_count", "pos_state"), no_path_value=self.path_lengths[1] + 1,
            op_attributes={"basic": {"channel": 0, "stride": 0},
                           "basic_widen": {"channel": 1, "stride": 0},
                           "basic_down": {"channel": 0, "stride": 1},
                           "basic_down_widen": {"channel": 1, "stride": 1}},
            n_positions=6)

    # -- parsing -----------------------------------------------------------------------------
    def _from_string(self, text: str) -> TNB101MacroArch:
        where = f"tnb101_macro string {text[:80]!r}"
        m = _STRING.fullmatch(text)
        if m is None:
            raise InvalidArchitectureError(f"{where}: expected the form 64-<4 to 6 codes>-basic")
        if m.group(1) != str(BASE_CHANNELS):
            raise InvalidArchitectureError(
                f"{where}: the macro space has base channels {BASE_CHANNELS}, got {m.group(1)}"
            )
        return self._make([int(c) for c in m.group(2)], where)

    def _from_sequence(self, seq: Sequence) -> TNB101MacroArch:
        where = f"tnb101_macro tuple {tuple(seq)!r:.80}"
        items = list(seq)
        if items and all(isinstance(v, str) for v in items):
            codes = []
            for k, name in enumerate(items):
                if name not in MACRO_OPS[1:]:
                    raise InvalidArchitectureError(
                        f"{where}: module {k} has unknown op {name!r:.40}; valid ops are "
                        f"{', '.join(MACRO_OPS[1:])}"
                    )
                codes.append(MACRO_OPS.index(name))
            return self._make(codes, where)
        codes = [as_int(v, f"{where}, position {k}") for k, v in enumerate(items)]
        if len(codes) == PADDED_LENGTH:
            while codes and codes[-1] == 0:
                codes.pop()
        if 0 in codes:
            raise InvalidArchitectureError(
                f"{where}: code 0 is only allowed as trailing padding of a length-"
                f"{PADDED_LENGTH} tuple"
            )
        return self._make(codes, where)

    def _make(self, codes: Sequence[int], where: str) -> TNB101MacroArch:
        return TNB101MacroArch(_validate(codes, where))

    # -- views ---------------------------------------------------------------------------------
    def to_string(self, arch: TNB101MacroArch) -> str:
        return str(self.check(arch))

    def to_tuple(self, arch: TNB101MacroArch, padded: bool = False) -> tuple[int, ...]:
        """The codes; ``padded=True`` appends zeros up to length 6 (NASLib ``op_indices``)."""
        codes = self.check(arch).codes
        return codes + (0,) * (PADDED_LENGTH - len(codes)) if padded else codes

    def to_graphs(self, arch: TNB101MacroArch) -> dict[str, ArchGraph]:
        """``{"macro": g}``: the chain input -> module 1 -> ... -> module n -> output, each
        module node labelled with its op name (``basic``, ``basic_widen``, ...)."""
        ops = (INPUT, *self.check(arch).ops, OUTPUT)
        n = len(ops)
        return {"macro": ArchGraph.from_edges(n, [(i, i + 1) for i in range(n - 1)], ops)}

    def to_model(self, arch: TNB101MacroArch, num_classes: int | None = None,
                 task: str | None = None, **kwargs: Any):
        """The macro network; see :func:`nasperf.searchspaces.models.tnb101.build_macro`.

        ``task`` is a TransNAS-Bench-101 task (``None``: ``"class_object"``); ``num_classes``
        defaults to the task's own output count.
        """
        from .models.tnb101 import build_macro

        arch = self.check(arch)
        return build_macro(arch, num_classes=check_num_classes(num_classes, allow_none=True),
                           task=task, **kwargs)

    # -- sampling ------------------------------------------------------------------------------
    def enumerate(self) -> list[TNB101MacroArch]:
        """All 3,256 skeletons, by number of modules then lexicographically."""
        return [TNB101MacroArch(c) for c in _all_codes()]

    def sample(self, n: int, seed: int | np.random.Generator | None = 0
               ) -> list[TNB101MacroArch]:
        """``n`` skeletons drawn uniformly from the 3,256 (with replacement).

        NASLib's sampler instead draws the length and the two counts uniformly first, which
        over-represents short skeletons.
        """
        n, rng = check_count(n), check_seed(seed)
        everything = _all_codes()
        idx = rng.integers(0, len(everything), size=n)
        return [TNB101MacroArch(everything[i]) for i in idx]

    def neighbours(self, arch: TNB101MacroArch) -> list[TNB101MacroArch]:
        """Valid skeletons one edit away: change one module's code, insert a module, or
        delete one (NASLib's ``mutate`` redraws the whole skeleton instead)."""
        codes = self.check(arch).codes
        cands: set[tuple[int, ...]] = set()
        for k in range(len(codes)):
            for c in range(1, 5):
                cands.add(codes[:k] + (c,) + codes[k + 1:])
            cands.add(codes[:k] + codes[k + 1:])
        for k in range(len(codes) + 1):
            for c in range(1, 5):
                cands.add(codes[:k] + (c,) + codes[k:])
        cands.discard(codes)
        return [TNB101MacroArch(c) for c in sorted(cands) if c in _valid_codes()]

    def mutate(self, arch: TNB101MacroArch, seed: int | np.random.Generator | None = 0
               ) -> TNB101MacroArch:
        """A uniformly chosen member of :meth:`neighbours` (never empty: every skeleton has a
        valid single-code change)."""
        nbrs = self.neighbours(arch)
        return nbrs[int(check_seed(seed).integers(len(nbrs)))]
