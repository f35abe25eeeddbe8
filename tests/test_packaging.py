"""A wheel built from this checkout works on its own, away from the checkout.

The wheel is built offline from a copy of the sources (``pip wheel --no-deps
--no-build-isolation``, with the setuptools that requirements.txt pins),
installed with ``pip install --target`` and imported in a subprocess that runs
outside the repository with ``python -S`` (so no ``.pth`` file, in particular
not the editable install's finder, can reach the checkout). There every catalog
model and every device must load from the copy of ``data/`` inside the wheel,
and the core (``costmodel``, ``costmodel.quantities``, ``costmodel.catalog``)
must import without the optional charting packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Imported only by costmodel.viz, costmodel.offline, costmodel.sphinxext or the
# tests: the core must not need them (they are extras in pyproject.toml).
NOT_CORE = ["altair", "IPython", "vl_convert", "mathjax", "sphinx", "yaml", "scipy", "pytest"]

_CHECK = r"""
import importlib.abc, json, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not a core dependency")
        return None

BLOCKED = set(json.loads(sys.argv[1]))
sys.meta_path.insert(0, Block())

import costmodel as cm
import costmodel.catalog, costmodel.quantities

models = {m: cm.load_model(m).n_params for m in cm.list_models()}
devices = {h: cm.load_hardware(h).memory_bandwidth_bytes_per_s for h in cm.list_hardware()}
print(json.dumps({
    "costmodel": cm.__file__,
    "data": str(costmodel.catalog.DATA_DIR),
    "data_module": sys.modules["costmodel.data"].__file__,
    "models": models,
    "devices": devices,
    "hardware_rows": len(cm.hardware_table()),
    "model_rows": len(cm.model_table()),
}))
"""


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("costmodel", "data"):
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
          "-q", "-w", str(tmp / "dist")], env=env)
    (built,) = (tmp / "dist").glob("costmodel-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("site")
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], env=env)
    # -S: no site-packages and no .pth files; the dependencies' folders are
    # added by hand after the install target.
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(target), *sorted(deps)])
    proc = _run([sys.executable, "-S", "-c", _CHECK, json.dumps(NOT_CORE)],
                cwd=tmp_path_factory.mktemp("elsewhere"), env=env)
    return {"target": target, **json.loads(proc.stdout.strip().splitlines()[-1])}


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_carries_every_data_file(wheel):
    names = _wheel_names(wheel)
    data = [p for p in (ROOT / "data").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert data
    missing = [p.relative_to(ROOT).as_posix() for p in data
               if f"costmodel/data/{p.relative_to(ROOT / 'data').as_posix()}" not in names]
    assert not missing, f"not in the wheel (add them to package-data in pyproject.toml): {missing}"


def test_wheel_carries_every_module(wheel):
    names = _wheel_names(wheel)
    modules = [p.relative_to(ROOT).as_posix() for p in (ROOT / "costmodel").rglob("*.py")
               if "__pycache__" not in p.parts]
    missing = [m for m in modules if m not in names]
    assert not missing, f"not in the wheel (list the package in pyproject.toml): {missing}"
    assert "costmodel/py.typed" in names


def test_wheel_metadata_keeps_charting_optional(wheel):
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(zf.read(meta).decode()).get_all("Requires-Dist") or []
    core = {r.split(";")[0].strip() for r in requires if "extra ==" not in r}
    core_names = {r.split("<")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in core}
    assert {"numpy", "sympy", "pandas"} <= core_names
    assert not core_names & {"altair", "ipython", "pytest", "jupyter-book"}
    viz = [r for r in requires if "extra == \"viz\"" in r.replace("'", '"')]
    assert any(r.lower().startswith("altair") for r in viz) and any(r.lower().startswith("ipython") for r in viz)


def test_installed_wheel_imports_from_its_own_folder(installed):
    target = installed["target"]
    for key in ("costmodel", "data", "data_module"):
        assert Path(installed[key]).is_relative_to(target), (key, installed[key])
    assert Path(installed["data"]) == target / "costmodel" / "data"


def test_installed_wheel_loads_every_model_and_device(installed):
    import costmodel as cm

    assert installed["models"] == {m: cm.load_model(m).n_params for m in cm.list_models()}
    assert sorted(installed["devices"]) == sorted(cm.list_hardware())
    assert installed["hardware_rows"] == len(cm.list_hardware())
    assert installed["model_rows"] == len(cm.list_models())
