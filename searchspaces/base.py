"""The search-space interface shared by every benchmark space and by user spaces."""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .errors import InvalidArchitectureError
from .features import DEFAULT_GRAF_GROUPS, GRAFSpaceConfig, OneHotLayout
from .graph import ArchGraph
from .taxonomy import OpInfo, taxonomy

if TYPE_CHECKING:  # pragma: no cover
    from .benchmarks import BenchmarkInfo


class SearchSpace(ABC):
    """A NAS search space: parse/print architectures, graph and model views, sampling.

    Subclasses implement the ``_from_string`` and ``_from_sequence`` parsers and the
    abstract views; :meth:`parse` dispatches any accepted input form to them.
    Architectures are immutable, hashable values (one frozen dataclass per space), so
    ``parse(to_string(a)) == a`` is a plain equality.

    Writing your own space
    ----------------------
    A user space is a subclass used as an object (``OneHotEncoder(MySpace())``) or
    registered by name (:func:`nasperf.searchspaces.register_space`). It must define:

    * the class attributes ``name``, ``ops`` (its op names) and ``arch_type`` (the type of
      its architecture objects: immutable and hashable);
    * ``_from_string`` and ``_from_sequence`` (what :meth:`parse` accepts), ``to_string``,
      ``to_tuple``;
    * ``to_graphs`` (one :class:`ArchGraph` per cell; ``to_graph`` follows for one-cell
      spaces), which every graph encoder, GRAF and the bias quantities read;
    * ``to_model`` (zero-cost proxies), ``sample`` and ``mutate`` (pretraining, search).
      Raise ``NotImplementedError`` for the views a space does not have.

    Everything else has a generic default derived from the graphs and ``ops``, which the
    built-in spaces override where they differ:

    * :attr:`op_taxonomy` (op -> :class:`~nasperf.searchspaces.taxonomy.OpInfo`): guessed
      from the op names (``conv``/``pool`` in the name, ``skip_connect``, ``none``);
    * :meth:`onehot_layout`: None, i.e. ``OneHotEncoder`` learns the padded-graph layout;
    * :attr:`path_lengths`: None, i.e. ``PathEncoder`` learns its paths in ``fit``;
    * :meth:`graf_config`: GRAF's cell groups, with the "no path" value one more than the
      longest path when :attr:`path_lengths` is known (else learned in ``fit``);
    * :attr:`max_nodes`: None, i.e. learned graph encoders pad to the largest graph seen;
    * :attr:`benchmark_info` and :attr:`archs_file`: None (no labelled data or architecture
      list for ``load_benchmark`` / ``load_archs``);
    * :meth:`enumerate`: ``NotImplementedError``.
    """

    name: ClassVar[str]
    #: Candidate operations in the order of the space's integer op ids (NASLib tuples).
    ops: ClassVar[tuple[str, ...]]
    #: The Python type of this space's architectures.
    arch_type: ClassVar[type]

    # -- per-space details (generic defaults) --------------------------------------------------
    #: (fewest, most) ops on an input -> output path of any cell, or None if not known.
    path_lengths: ClassVar[tuple[int, int] | None] = None
    #: Largest node count of any graph of the space, or None (learned from the graphs).
    max_nodes: ClassVar[int | None] = None
    #: Labelled benchmark data of this space (see :func:`nasperf.searchspaces.load_benchmark`).
    benchmark_info: ClassVar[BenchmarkInfo | None] = None
    #: Data-directory path of the space's unlabelled architecture list (``load_archs``).
    archs_file: ClassVar[str | None] = None

    @property
    def op_taxonomy(self) -> Mapping[str, OpInfo]:
        """Op name -> :class:`~nasperf.searchspaces.taxonomy.OpInfo` for every op of
        :attr:`ops` (generic default: :func:`~nasperf.searchspaces.taxonomy.guess_op_info`)."""
        return taxonomy(self.ops)

    def onehot_layout(self) -> OneHotLayout | None:
        """The space's fixed one-hot layout, or None for the generic padded-graph layout that
        ``OneHotEncoder`` learns in ``fit``."""
        return None

    def graf_config(self) -> GRAFSpaceConfig:
        """Defaults of ``GRAFEncoder`` for this space."""
        longest = self.path_lengths[1] if self.path_lengths is not None else None
        return GRAFSpaceConfig(DEFAULT_GRAF_GROUPS,
                               no_path_value=None if longest is None else longest + 1)

    @property
    def benchmarks(self) -> tuple[str, ...]:
        """Datasets (or tasks) with labelled data for ``load_benchmark`` (may be empty)."""
        info = self.benchmark_info
        return tuple(info.datasets) if info is not None else ()

    @property
    def data_files(self) -> tuple[str, ...]:
        """Data-directory paths of every file this space's loaders read (for
        :func:`nasperf.searchspaces.download`)."""
        info = self.benchmark_info
        files = tuple(info.files) if info is not None else ()
        return files + ((self.archs_file,) if self.archs_file else ())

    # -- parsing -----------------------------------------------------------------------------
    def parse(self, x: Any) -> Any:
        """Return the architecture described by ``x``.

        Accepted forms are listed in each space's docstring; all spaces accept their own
        architecture objects, their official string and their NASLib tuple, either as a
        tuple/list or as its ``str``.

        Raises
        ------
        InvalidArchitectureError
            If ``x`` is malformed or not an architecture of this space; the message says why.
        """
        if isinstance(x, self.arch_type):
            return x
        if isinstance(x, str):
            text = x.strip()
            if not text:
                raise InvalidArchitectureError(f"{self.name}: empty architecture string")
            if text[0] in "([":
                return self._from_sequence(literal(text, self.name))
            return self._from_string(text)
        if isinstance(x, np.ndarray):
            x = x.tolist()
        if isinstance(x, Sequence) and not isinstance(x, (bytes, bytearray)):
            return self._from_sequence(x)
        if isinstance(x, dict):
            return self._from_mapping(x)
        raise InvalidArchitectureError(
            f"{self.name}: cannot parse an object of type {type(x).__name__} as an architecture"
        )

    @abstractmethod
    def _from_string(self, text: str) -> Any:
        """Parse the space's official string form."""

    @abstractmethod
    def _from_sequence(self, seq: Sequence) -> Any:
        """Parse a NASLib tuple (or list, or nested lists) form."""

    def _from_mapping(self, mapping: dict) -> Any:
        raise InvalidArchitectureError(f"{self.name}: architectures cannot be given as a dict")

    def check(self, arch: Any) -> Any:
        """Return ``arch`` if it is an architecture object of this space, else raise."""
        if not isinstance(arch, self.arch_type):
            raise InvalidArchitectureError(
                f"{self.name}: expected a {self.arch_type.__name__}, got "
                f"{type(arch).__name__} {arch!r:.80}; use space.parse(...) first"
            )
        return arch

    # -- views ---------------------------------------------------------------------------------
    @abstractmethod
    def to_string(self, arch: Any) -> str:
        """The official string form."""

    @abstractmethod
    def to_tuple(self, arch: Any) -> tuple:
        """The NASLib tuple form (the keys of the NAS-Bench-Suite-Zero JSON files)."""

    def to_graph(self, arch: Any) -> ArchGraph:
        """The node-labelled DAG of a one-cell space (see :class:`ArchGraph`)."""
        graphs = self.to_graphs(arch)
        if len(graphs) != 1:
            raise NotImplementedError(
                f"{self.name} architectures have {len(graphs)} graphs "
                f"({', '.join(graphs)}); use to_graphs()"
            )
        return next(iter(graphs.values()))

    @abstractmethod
    def to_graphs(self, arch: Any) -> dict[str, ArchGraph]:
        """One ArchGraph per cell, keyed by the cell's name (``"cell"`` for one-cell spaces)."""

    @abstractmethod
    def to_model(self, arch: Any, num_classes: int = 10, **kwargs: Any):
        """Build the benchmark's ``torch.nn.Module`` for ``arch``.

        Implementations check ``num_classes`` with :func:`check_num_classes` (an int >= 1;
        ``TypeError``/``ValueError`` otherwise) and ``arch`` with :meth:`check`.
        """

    # -- sampling ------------------------------------------------------------------------------
    @abstractmethod
    def sample(self, n: int, seed: int = 0) -> list:
        """``n`` architectures drawn uniformly from the space (with replacement).

        Implementations check their arguments with :func:`check_count` (``n`` a
        non-negative int; ``0`` gives ``[]``) and :func:`check_seed` (None, a non-negative
        int, a ``SeedSequence`` or a ``numpy.random.Generator``), which raise ``TypeError``
        (wrong type, bools and floats included) or ``ValueError`` (negative).
        """

    @abstractmethod
    def mutate(self, arch: Any, seed: int = 0) -> Any:
        """A random neighbour of ``arch`` that differs from it and is valid.

        Implementations check ``arch`` with :meth:`check` and ``seed`` with
        :func:`check_seed`.
        """

    def neighbours(self, arch: Any) -> list:
        """Every architecture one edit away from ``arch`` (the edits of :meth:`mutate`), in a
        fixed order; only for spaces where that list is short."""
        raise NotImplementedError(f"{self.name} does not list the neighbours of a cell")

    def enumerate(self) -> list:
        """Every architecture of the space (only for small spaces)."""
        raise NotImplementedError(f"{self.name} is too large to enumerate")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def literal(text: str, where: str) -> Any:
    """``ast.literal_eval`` that raises :class:`InvalidArchitectureError` on bad syntax."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise InvalidArchitectureError(
            f"{where}: malformed architecture literal {text[:80]!r}: {exc}"
        ) from None


def as_int(value: Any, where: str) -> int:
    """An integer from an int-like value (bool and non-integral floats are rejected)."""
    if isinstance(value, (bool, np.bool_)):
        raise InvalidArchitectureError(f"{where}: expected an integer, got a bool {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise InvalidArchitectureError(f"{where}: expected an integer, got {value!r:.40}")


def op_from_id(ops: Sequence[str], value: Any, where: str) -> str:
    """Op name for an integer op id, with a clear error for an unknown id."""
    i = as_int(value, where)
    if not 0 <= i < len(ops):
        raise InvalidArchitectureError(
            f"{where}: unknown op id {i}; valid ids are 0..{len(ops) - 1} ({', '.join(ops)})"
        )
    return ops[i]


def check_op(ops: Sequence[str], name: Any, where: str) -> str:
    """``name`` if it is a known op, else a clear error listing the valid ones."""
    if not isinstance(name, str) or name not in ops:
        raise InvalidArchitectureError(
            f"{where}: unknown op {name!r:.40}; valid ops are {', '.join(ops)}"
        )
    return name


def rng_for(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A NumPy generator from a seed or an existing generator (see :func:`check_seed`)."""
    return check_seed(seed)


# -- argument checks shared by every space's sample / mutate / to_model ------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_count(n: Any, name: str = "n") -> int:
    """``n`` as a non-negative int (``sample(0)`` is an empty list).

    Raises
    ------
    TypeError
        ``n`` is not an integer (a bool or a float such as ``1.5`` or ``2.0`` included).
    ValueError
        ``n`` is negative.
    """
    if not _is_int(n):
        raise TypeError(f"{name} must be a non-negative integer, got {type(n).__name__} "
                        f"{n!r:.40}")
    if n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {int(n)}")
    return int(n)


def check_seed(seed: Any, name: str = "seed") -> np.random.Generator:
    """A NumPy generator from ``seed``: None, a non-negative int, a ``SeedSequence`` or a
    ``Generator`` (used as is, so consecutive calls continue its stream).

    Raises
    ------
    TypeError
        Any other type (a bool or a float included).
    ValueError
        A negative integer.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if not _is_int(seed):
        raise TypeError(f"{name} must be None, a non-negative integer or a "
                        f"numpy.random.Generator, got {type(seed).__name__} {seed!r:.40}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {int(seed)}")
    return np.random.default_rng(int(seed))


def check_num_classes(num_classes: Any, allow_none: bool = False) -> int | None:
    """``num_classes`` as an int >= 1 (or None where the space has a per-task default).

    Raises
    ------
    TypeError
        Not an integer (a bool or a float included), or None where no default exists.
    ValueError
        Less than 1.
    """
    if num_classes is None and allow_none:
        return None
    if not _is_int(num_classes):
        raise TypeError(f"num_classes must be a positive integer"
                        f"{' or None' if allow_none else ''}, got "
                        f"{type(num_classes).__name__} {num_classes!r:.40}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer (>= 1), got {int(num_classes)}")
    return int(num_classes)


def check_arch_ops(cls_name: str, ops: Any, vocabulary: Sequence[str] | None, length: int,
                   position: Any = None) -> tuple[str, ...]:
    """``ops`` as a tuple of ``length`` names from ``vocabulary`` (None: any string), for an
    architecture's ``__post_init__``; ``position(k)`` names slot ``k`` in messages (default
    ``ops[k]``).

    Raises
    ------
    InvalidArchitectureError
        Wrong type or length, or an op outside ``vocabulary``, naming position and value.
    """
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (Sequence, np.ndarray)):
        raise InvalidArchitectureError(
            f"{cls_name}: ops must be a tuple of {length} op names, got {type(ops).__name__} "
            f"{ops!r:.60}")
    ops = tuple(ops)
    if len(ops) != length:
        raise InvalidArchitectureError(
            f"{cls_name}: expected {length} ops, got {len(ops)}: {ops!r:.100}")
    for k, op in enumerate(ops):
        if not isinstance(op, str) or (vocabulary is not None and op not in vocabulary):
            where = position(k) if position is not None else f"ops[{k}]"
            valid = ", ".join(vocabulary) if vocabulary is not None else "op names (str)"
            raise InvalidArchitectureError(f"{cls_name}: {where} is {op!r:.40}; valid ops are "
                                           f"{valid}")
    return ops
