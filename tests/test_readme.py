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
