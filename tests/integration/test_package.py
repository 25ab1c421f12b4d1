"""The built wheel (not the editable install) carries everything and runs in a fresh venv."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("observatory", "scanners", "reports", "migrations")

pytestmark = pytest.mark.slow


def _shipped_files() -> set[str]:
    files = {"cli.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("xmpp_observatory-*.whl")
    return built


def test_wheel_contains_every_package_module_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _shipped_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "migrations/env.py" in names
    assert "migrations/script.py.mako" in names
    assert not any(name.startswith("tests/") for name in names), "tests must not be installed"


def test_wheel_installs_into_a_fresh_venv_and_runs(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [bin_dir / "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], check=True, timeout=600
    )
    # Run from an empty folder so nothing of the source tree can be imported by accident.
    clean_env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    help_run = subprocess.run(
        [bin_dir / "observatory", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=clean_env
    )
    assert help_run.returncode == 0, help_run.stderr
    assert "scan" in help_run.stdout
    where = subprocess.run(
        [bin_dir / "python", "-c", "import cli, migrations; print(cli.__file__); print(migrations.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env,
        check=True,
    ).stdout
    assert str(ROOT) not in where
    assert str(env_dir) in where
    scan_help = subprocess.run(
        [bin_dir / "observatory", "scan", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env,
    )
    assert "--trust-anchor" in scan_help.stdout
