"""Imports go through the ``nasperf`` namespace and follow the layering of the packages."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("searchspaces", "encoders", "graphfeatures", "zerocost", "predictors", "eval",
            "search")
#: package -> the nasperf packages it may import (besides itself and the root ``nasperf``).
ALLOWED = {
    "searchspaces": set(),
    "encoders": {"searchspaces"},
    # GRAF is one more encoder: GRAFEncoder derives from encoders.base.ArchEncoder
    "graphfeatures": {"searchspaces", "encoders"},
    "zerocost": {"searchspaces"},
    "predictors": set(),
    "eval": set(PACKAGES) - {"search"},
    "search": set(PACKAGES),
}
#: Root modules every package may use (infrastructure, like the private ``nasperf._io``).
INFRASTRUCTURE = {"executors"}
#: Folders allowed one more package: the command line runs searches.
EXTRA = {"eval/cli": {"search"}}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path`` (relative ones skipped)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def _sources() -> list[Path]:
    files = [p for d in (*PACKAGES, "nasperf", "tests", "benchmarks")
             for p in (ROOT / d).rglob("*.py")]
    return sorted(files)


def _strings_of_notebooks() -> list[tuple[Path, str]]:
    out = []
    for nb in ROOT.rglob("*.ipynb"):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                out.append((nb, "".join(cell["source"])))
    return out


def test_no_bare_top_level_imports_of_the_packages():
    bad = [f"{p.relative_to(ROOT)}:{line}: {mod}" for p in _sources()
           for line, mod in _imports(p) if mod.split(".")[0] in PACKAGES]
    for nb, src in _strings_of_notebooks():
        tree = ast.parse("\n".join(l for l in src.splitlines() if not l.startswith(("%", "!"))))
        for node in ast.walk(tree):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            bad += [f"{nb.name}: {m}" for m in mods if m.split(".")[0] in PACKAGES]
    assert not bad, "import through nasperf.<package>:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", PACKAGES)
def test_layering(package):
    allowed = ALLOWED[package] | {package}
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        folder = path.parent.relative_to(ROOT).as_posix()
        extra = EXTRA.get(folder, set())
        for line, mod in _imports(path):
            parts = mod.split(".")
            if parts[0] == "nasperf" and len(parts) > 1 and not parts[1].startswith("_"):
                if parts[1] not in allowed | extra | INFRASTRUCTURE:
                    bad.append(f"{path.relative_to(ROOT)}:{line}: {mod}")
    assert not bad, f"{package} may import only {sorted(allowed)}:\n" + "\n".join(bad)
