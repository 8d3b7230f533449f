"""The built wheel is a library: one top-level name, no exact torch pin, and it works from a
directory whose own modules are called like the toolkit's packages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: Modules that must never shadow the toolkit: a user's own files with these names.
SHADOWS = ("predictors", "eval", "encoders", "searchspaces", "zerocost", "graphfeatures")

pytestmark = pytest.mark.slow


def _source_copy(dest: Path) -> Path:
    """The checkout's tracked and untracked-not-ignored files, copied to ``dest`` (so that no
    stale ``build/`` directory of the checkout ends up in the wheel)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot list the source files")
    for rel in filter(None, listed.stdout.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = _source_copy(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(src)], check=True, capture_output=True, text=True)
    (path,) = out.glob("nasperf-*.whl")
    return path


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(z.read(name).decode())


def test_wheel_installs_one_top_level_name(wheel):
    with zipfile.ZipFile(wheel) as z:
        tops = {n.split("/")[0] for n in z.namelist() if ".dist-info/" not in n}
        assert tops == {"nasperf"}
        names = set(z.namelist())
    for pkg in SHADOWS:
        assert f"nasperf/{pkg}/__init__.py" in names
    assert not any(n.startswith(("nasperf/benchmarks", "nasperf/tests")) for n in names)


def test_metadata_pins_no_exact_torch(wheel):
    reqs = [Requirement(r) for r in _metadata(wheel).get_all("Requires-Dist")]
    core = [r for r in reqs if r.marker is None]
    (torch,) = [r for r in core if r.name == "torch"]
    assert "==" not in str(torch.specifier)
    for version in ("2.1.0", "2.5.1", "2.13.0"):
        assert torch.specifier.contains(version), version
    # heavy, lazily imported libraries are extras, not requirements
    assert not {r.name for r in core} & {"lightgbm", "xgboost", "xgboost-cpu", "shap",
                                         "gpytorch", "matplotlib", "torch-geometric"}


def _readme_python_snippets() -> str:
    text = (ROOT / "README.md").read_text()
    return "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, Path]:
    """A fresh venv (system site-packages for the dependencies) with only the wheel added,
    and a scratch directory holding modules named like the toolkit's packages."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                    "-q", str(wheel)], check=True, capture_output=True, text=True)
    scratch = tmp_path_factory.mktemp("scratch")
    for name in SHADOWS:
        (scratch / f"{name}.py").write_text(
            f"raise ImportError('the user module {name}.py was imported instead of nasperf')\n")
    return py, scratch


def _run(py: Path, scratch: Path, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(py), "-c", code], cwd=scratch, env=env, capture_output=True,
                          text=True, timeout=600)


def test_wheel_imports_from_a_directory_with_shadowing_modules(installed):
    py, scratch = installed
    code = ("import json, nasperf, nasperf.predictors, nasperf.eval, nasperf.encoders, "
            "nasperf.searchspaces, nasperf.zerocost, nasperf.graphfeatures\n"
            "print(json.dumps([nasperf.__file__, nasperf.predictors.__file__]))")
    res = _run(py, scratch, code)
    assert res.returncode == 0, res.stderr
    files = json.loads(res.stdout)
    env_root = py.parent.parent.resolve()
    for f in files:
        assert env_root in Path(f).resolve().parents, f"{f} is not the installed wheel"


def test_cli_help_works_and_imports_no_torch(installed):
    py, scratch = installed
    code = ("import sys\nfrom nasperf.eval.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "print('torch' in sys.modules)")
    res = _run(py, scratch, code)
    assert res.returncode == 0, res.stderr
    assert "benchmark" in res.stdout and res.stdout.strip().endswith("False")
    script = py.parent / ("nasperf.exe" if os.name == "nt" else "nasperf")
    res = subprocess.run([str(script), "--help"], cwd=scratch, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "benchmark" in res.stdout


def test_readme_snippets_run_from_the_installed_wheel(installed, data_dir):
    py, scratch = installed
    res = _run(py, scratch, _readme_python_snippets())
    assert res.returncode == 0, res.stderr[-3000:]


def test_readme_main_job_runs_from_the_embedded_table_without_data(installed, tmp_path):
    """The README's first command on a machine with no data and no internet: nothing
    configured, an empty user cache, downloads off; a one-seed, one-size grid of the same
    configuration prints the Kendall-tau table from the embedded NB201 CIFAR-10 table."""
    text = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)\n```", text, flags=re.S).group(1)
    assert first == "pip install -e '.[dev]' -c constraints.txt && nasperf benchmark"
    py, scratch = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NASPERF_DATA")}
    env.update(NASPERF_CACHE=str(tmp_path / "cache"), NASPERF_NO_DOWNLOAD="1")
    script = py.parent / ("nasperf.exe" if os.name == "nt" else "nasperf")
    res = subprocess.run([str(script), "benchmark", "--seeds", "1", "--train-sizes", "32",
                          "--out", str(tmp_path / "out")], cwd=scratch, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "using the embedded NB201 CIFAR-10 table (9,445 cells)" in res.stderr
    assert "Kendall tau" in res.stdout and "graf_all+zc" in res.stdout
    assert (tmp_path / "out" / "results.csv").is_file()
