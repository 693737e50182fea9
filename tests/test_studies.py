"""The research studies (studies/) and the scripts (scripts/) still reach actcap through names it has: every
`from actcap… import …` they write resolves, so a rename in the package cannot leave a study broken unnoticed
(they are linted with the package: test_lint.py)."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "studies").glob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))


def actcap_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every `from actcap… import name` in the file, at any depth."""
    return [(node.module, a.name) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "actcap"
            for a in node.names]


def test_the_studies_folder_is_there_and_holds_studies():
    assert (ROOT / "studies").is_dir() and not (ROOT / "bench").exists()
    assert len(list((ROOT / "studies").glob("*.py"))) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_actcap_import_resolves(path):
    missing = []
    for module, name in actcap_imports(path):
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ModuleNotFoundError:
                missing.append(f"{module}.{name}")
    assert missing == []
