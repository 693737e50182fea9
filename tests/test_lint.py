"""The code style pyproject.toml's [tool.ruff] sets (pyflakes, pycodestyle, isort, bugbear) holds everywhere: the
package, the tests, the scripts and the research studies (studies/)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    if shutil.which("ruff") is None and subprocess.run([sys.executable, "-m", "ruff", "--version"],
                                                       capture_output=True).returncode != 0:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "actcap", "tests",
                        "scripts", "studies"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
