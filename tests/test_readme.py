"""The README's first lines are what a newcomer types; CI must run exactly the test command, and both
commands install the versions in constraints.txt, which pins everything actcap imports or declares."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# imported only inside a try that turns its absence into a clear error (mobilenet_v2 needs it; never installed)
OPTIONAL_IMPORTS = {"torchvision"}


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("```bash") + 1
    return [line.split("    #")[0].strip() for line in lines[start:start + 2]]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def constraints() -> dict[str, str]:
    """constraints.txt as {normalised name: version}; every line must be an exact `name==version` pin."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;]*)", line)
            assert m, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            assert norm(m[1]) not in pins, f"constraints.txt: {m[1]} pinned twice"
            pins[norm(m[1])] = m[2]
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(d) for d in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_ci_runs_the_readme_test_command():
    serve, test = readme_commands()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == test
    assert serve.endswith(".venv/bin/actcap serve") and "torch==2.13.0" in serve
    assert test.endswith(".venv/bin/pytest -q") and ".[test]" in test


def test_both_commands_install_the_pinned_versions():
    for command in readme_commands():
        install = command.split(" && ")[1]
        assert install.startswith(".venv/bin/pip install") and " -c constraints.txt " in f" {install} ", install
        assert "torch==2.13.0" in install  # the CPU wheel, named so no resolver picks a CUDA build
    assert constraints()["torch"] == "2.13.0"


def test_constraints_pin_every_declared_dependency_inside_its_range():
    pins = constraints()
    for req in declared():
        name = norm(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not pinned in constraints.txt"
        assert Version(pins[name]) in req.specifier, (f"constraints.txt pins {req.name}=={pins[name]}, outside "
                                                       f"pyproject.toml's {req}")
        # a new major comes in only by raising the bound: every range has one (== pins are their own bound)
        assert any(s.operator in ("<", "<=", "==") for s in req.specifier), f"{req} has no upper bound"


def third_party_imports() -> dict[str, str]:
    """Top-level modules imported anywhere in actcap → one file importing it."""
    found = {}
    for path in sorted((ROOT / "actcap").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"actcap"}:
                found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_package_actcap_imports_is_declared_and_pinned():
    pins, names = constraints(), {norm(r.name) for r in declared()}
    dists = packages_distributions()
    imports = third_party_imports()
    assert {"cv2", "torch", "fastapi", "starlette"} <= set(imports)  # the scan sees real imports
    for module, where in imports.items():
        if module in OPTIONAL_IMPORTS:
            continue
        assert module in dists, f"{where} imports {module}, which no installed distribution provides"
        dist = norm(dists[module][0])
        assert dist in names, f"{where} imports {module} ({dist}), not a dependency in pyproject.toml"
        assert dist in pins, f"{where} imports {module} ({dist}), not pinned in constraints.txt"


def test_the_serve_command_installs_what_the_live_stream_needs():
    """`pip install -e .` (the serve command, no extras) must bring a WebSocket library: without one,
    uvicorn answers the page's /stream upgrade with 'Unsupported upgrade request' and the webcam never works."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {norm(Requirement(d).name) for d in deps}
    assert {"fastapi", "uvicorn", "python-multipart", "fastapi-offline"} <= names
    assert names & {"websockets", "wsproto"} or "uvicorn[standard]" in " ".join(deps)
