"""Per-space GRAF settings: the paper's feature groups and the "no path" value."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GRAFSpaceConfig:
    """Defaults of :class:`~nasperf.graphfeatures.GRAFEncoder` for one benchmark space.

    Attributes
    ----------
    groups : tuple of str
        Feature groups of the paper's configuration for this space (``zc_combine/configs``).
    no_path_value : int
        ``min_path_len`` when no path exists: one more than the most ops any input -> output
        path of the space can have.
    op_attributes : dict op -> dict attribute -> float
        Per-op quantities summed along the chain by the ``pos_state`` group.
    n_positions : int
        Number of chain positions of ``pos_state``.
    """

    groups: tuple[str, ...]
    no_path_value: int
    op_attributes: dict[str, dict[str, float]] = field(default_factory=dict)
    n_positions: int = 0


_CELL_GROUPS = ("op_count", "min_path_len", "max_path_len", "node_degree")

#: Space name -> defaults. NB301 (DARTS) has no ``min_path_len`` in the paper: every op node
#: feeds the output, so the shortest path is always one op.
SPACE_CONFIGS: dict[str, GRAFSpaceConfig] = {
    "nb201": GRAFSpaceConfig(_CELL_GROUPS, no_path_value=4),  # at most 3 ops on a path
    "tnb101_micro": GRAFSpaceConfig(_CELL_GROUPS, no_path_value=4),
    "nb101": GRAFSpaceConfig(_CELL_GROUPS, no_path_value=6),  # at most 5 inner nodes
    "nb301": GRAFSpaceConfig(("op_count", "max_path_len", "node_degree"), no_path_value=5),
    # TNB101-macro: the paper counts module types and tracks how often the channels were
    # doubled ("channel") and the resolution halved ("stride") up to each of the 6 positions.
    "tnb101_macro": GRAFSpaceConfig(
        ("op_count", "pos_state"), no_path_value=7,  # a chain of at most 6 modules
        op_attributes={"basic": {"channel": 0, "stride": 0},
                       "basic_widen": {"channel": 1, "stride": 0},
                       "basic_down": {"channel": 0, "stride": 1},
                       "basic_down_widen": {"channel": 1, "stride": 1}},
        n_positions=6),
}

#: Groups used for spaces without an entry in :data:`SPACE_CONFIGS` (user spaces).
DEFAULT_GROUPS: tuple[str, ...] = _CELL_GROUPS
