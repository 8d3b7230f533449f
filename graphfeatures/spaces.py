"""GRAF defaults of a space: ``space.graf_config()`` returns a :class:`GRAFSpaceConfig`.

The configuration lives on the space (:meth:`nasperf.searchspaces.SearchSpace.graf_config`);
this module re-exports its type and the default groups for the GRAF API.
"""

from nasperf.searchspaces.features import DEFAULT_GRAF_GROUPS, GRAFSpaceConfig

#: Groups of spaces that do not choose their own (and of ``graph_features``).
DEFAULT_GROUPS: tuple[str, ...] = DEFAULT_GRAF_GROUPS

__all__ = ["DEFAULT_GROUPS", "GRAFSpaceConfig"]
