"""The README's first lines are what a newcomer types; CI must run exactly the test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("```bash") + 1
    return [line.split("    #")[0].strip() for line in lines[start:start + 2]]


def test_ci_runs_the_readme_test_command():
    serve, test = readme_commands()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == test
    assert serve.endswith(".venv/bin/actcap serve") and "torch==2.13.0" in serve
    assert test.endswith(".venv/bin/pytest -q") and ".[test]" in test


def test_the_serve_command_installs_what_the_live_stream_needs():
    """`pip install -e .` (the serve command, no extras) must bring a WebSocket library: without one,
    uvicorn answers the page's /stream upgrade with 'Unsupported upgrade request' and the webcam never works."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in deps}
    assert {"fastapi", "uvicorn", "python-multipart"} <= names
    assert names & {"websockets", "wsproto"} or "uvicorn[standard]" in " ".join(deps)
