"""The base class of every architecture encoder: space handling, parsing, progress bars.

Encoders are scikit-learn transformers whose input ``X`` is a sequence of architectures
(anything ``space.parse`` accepts: arch objects, official strings, NASLib tuples or their
``str``) and whose output is a numeric matrix with one row per architecture.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, SearchSpace, get_space

T = TypeVar("T")

#: Inputs at least this long get a progress bar when ``progress=None``.
PROGRESS_MIN_ITEMS = 5000
class ArchEncoder(TransformerMixin, BaseEstimator):
    """Base class: resolves ``space``, parses architectures, shows progress, names features.

    Subclasses implement :meth:`_fit` (learn state from parsed architectures) and
    :meth:`_transform` (parsed architectures -> matrix), and set ``feature_names_out_`` in
    :meth:`_fit`. Their ``__init__`` must store every parameter untouched (scikit-learn
    convention) and include ``space`` and ``progress``.

    Parameters
    ----------
    space : str or SearchSpace
        Space name (see :func:`nasperf.searchspaces.list_spaces`) or a space object.
    progress : bool or None
        Show a tqdm progress bar; ``None`` shows one for inputs of at least
        :data:`PROGRESS_MIN_ITEMS` architectures.
    """

    def __init__(self, space: str | SearchSpace | None = None, *, progress: bool | None = None):
        self.space = space
        self.progress = progress

    # -- scikit-learn API ---------------------------------------------------------------------
    def fit(self, X: Sequence, y: Any = None) -> ArchEncoder:
        """Learn the encoder's state (vocabularies, layouts) from architectures ``X``.

        Parameters
        ----------
        X : sequence of architectures, length n
        y : ignored
        """
        self.space_ = self._resolve_space()
        self._fit(self._parse_all(X))
        return self

    def transform(self, X: Sequence) -> np.ndarray:
        """Encode architectures ``X`` (length n) as a matrix of shape (n, n_features)."""
        check_is_fitted(self, "feature_names_out_")
        return self._transform(self._parse_all(X))

    def fit_transform(self, X: Sequence, y: Any = None, **fit_params: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform`, parsing ``X`` once."""
        self.space_ = self._resolve_space()
        archs = self._parse_all(X)
        self._fit(archs)
        return self._transform(archs)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns (``input_features`` is ignored: the input is archs)."""
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    # -- to implement --------------------------------------------------------------------------
    def _fit(self, archs: list) -> None:
        raise NotImplementedError

    def _transform(self, archs: list) -> np.ndarray:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------
    def _resolve_space(self) -> SearchSpace | None:
        if self.space is None:
            return None
        return get_space(self.space)

    def _parse_all(self, X: Any) -> list:
        """Parsed architectures (or graphs, see :meth:`_parse_one`) with item-indexed errors."""
        if isinstance(X, (str, bytes, ArchGraph, Mapping)) or not isinstance(X, Iterable):
            raise ValueError(
                f"{type(self).__name__} expects a sequence of architectures, got a single "
                f"{type(X).__name__}; wrap it in a list"
            )
        if isinstance(X, np.ndarray) and X.ndim == 0:
            raise ValueError(f"{type(self).__name__} expects a sequence of architectures")
        out = []
        for i, x in enumerate(X):
            try:
                out.append(self._parse_one(x))
            except InvalidArchitectureError as exc:
                raise InvalidArchitectureError(f"architecture {i}: {exc}") from exc
        if not out:
            raise ValueError(f"{type(self).__name__} got an empty sequence of architectures")
        return out

    def _parse_one(self, x: Any) -> Any:
        """One architecture of ``space_``. Graph encoders override this to accept graphs."""
        space = self.space_
        if space is None:
            raise ValueError(f"{type(self).__name__} needs a search space (space=...)")
        return space.parse(x)

    def _progress(self, items: Iterable[T], total: int, desc: str,
                  n_archs: int | None = None) -> Iterator[T]:
        """``items`` (``total`` steps) wrapped in a tqdm bar when wanted: ``progress=True``,
        or ``None`` and ``n_archs`` (default ``total``) architectures to encode is large."""
        size = total if n_archs is None else n_archs
        show = self.progress if self.progress is not None else size >= PROGRESS_MIN_ITEMS
        if not show:
            return iter(items)
        from tqdm.auto import tqdm

        return iter(tqdm(items, total=total, desc=desc, leave=False))

    # -- feature groups ------------------------------------------------------------------------
    def get_feature_groups_out(self) -> dict[str, list[int]]:
        """Groups of output columns: group name -> column indices into
        :meth:`get_feature_names_out`, every column in exactly one group.

        The default is a single group holding every column, named after the encoder class
        without its ``Encoder`` suffix, lower-cased (``OneHotEncoder`` -> ``"onehot"``,
        ``PathEncoder`` -> ``"path"``, ``Arch2VecEncoder`` -> ``"arch2vec"``,
        ``CATEEncoder`` -> ``"cate"``). Encoders whose columns fall into kinds of features
        (:class:`~nasperf.graphfeatures.GRAFEncoder`) override it.
        """
        check_is_fitted(self, "feature_names_out_")
        name = type(self).__name__
        name = name[: -len("Encoder")] if name.endswith("Encoder") and name != "Encoder" \
            else name
        return {name.lower(): list(range(len(self.feature_names_out_)))}


def unique_index(items: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """Distinct hashable items in first-seen order and, for each item, its position there.

    Encoders compute each distinct architecture or graph once and scatter the rows back:
    ``rows = encode(uniques)[inverse]``.
    """
    position: dict[Any, int] = {}
    inverse = np.empty(len(items), dtype=np.intp)
    for i, item in enumerate(items):
        inverse[i] = position.setdefault(item, len(position))
    return list(position), inverse
