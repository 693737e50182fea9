"""The package's data path as its imports draw it: which stage (subpackage) imports which.

    python scripts/import_graph.py            # print the Mermaid picture
    python scripts/import_graph.py --write    # put it into docs/architecture.md between its markers

Every `import actcap.…` / `from actcap.… import` in actcap/ counts, at module level or inside a function, so
the picture shows every way one stage can reach another. tests/test_architecture.py fails when the picture
in the docs no longer matches the code.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "actcap"
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- import graph: begin (scripts/import_graph.py --write) -->", "<!-- import graph: end -->"
# left to right: the order a clip flows through; the cross-cutting modules last
ORDER = ["cli", "serve", "teach", "bench", "inference", "training", "honesty", "caption", "features", "models",
         "data", "pose"]
SHARED = ("config", "fileio", "registry")  # single modules every stage may use; left out of the picture


def stage_of(module: str) -> str:
    """'actcap.features.streams.flow' → 'features'; 'actcap.config' → 'config'."""
    return module.split(".")[1]


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(path: Path) -> set[str]:
    """The actcap modules a file imports (`from actcap.x import y` counts as actcap.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("actcap.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("actcap"):
            if node.module == "actcap":  # `from actcap import __version__` or `from actcap import x`
                found |= {f"actcap.{a.name}" for a in node.names if not a.name.startswith("__")}
            else:
                found.add(node.module)
    return found


def stage_edges() -> set[tuple[str, str]]:
    """(importer stage, imported stage) for every import across stages."""
    edges = set()
    for name, path in modules().items():
        if name in ("actcap", "actcap.__main__"):
            continue
        for target in imports_of(path):
            a, b = stage_of(name), stage_of(target)
            if a != b:
                edges.add((a, b))
    return edges


def reachable(edges: set[tuple[str, str]]) -> dict[str, set[str]]:
    """Stage → every stage it reaches through one or more imports."""
    reach: dict[str, set[str]] = {}
    for a, b in edges:
        reach.setdefault(a, set()).add(b)
    changed = True
    while changed:
        changed = False
        for targets in reach.values():
            more = set().union(*(reach.get(b, set()) for b in targets)) - targets
            if more:
                targets |= more
                changed = True
    return reach


def reduced(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The picture's edges: imports between stages (not SHARED ones) that no longer path already implies
    (a transitive reduction; each edge kept is a real import)."""
    edges = {(a, b) for a, b in edges if a not in SHARED and b not in SHARED}
    reach = reachable(edges)
    return {(a, b) for a, b in edges if not any(b in reach.get(c, ()) for x, c in edges if x == a and c != b)}


def mermaid(edges: set[tuple[str, str]]) -> str:
    """A Mermaid flowchart of the reduced stage graph, stages in pipeline order."""
    edges = reduced(edges)
    rank = {s: i for i, s in enumerate(ORDER)}
    lines = ["```mermaid", "flowchart LR"]
    for a, b in sorted(edges, key=lambda e: (rank.get(e[0], 99), rank.get(e[1], 99), e)):
        lines.append(f"    {a} --> {b}")
    lines.append("```")
    return "\n".join(lines)


def doc_block(text: str) -> str | None:
    """The picture between the markers in `text`, or None without markers."""
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--write", action="store_true", help=f"write the picture into {DOC.relative_to(ROOT)}")
    args = p.parse_args(argv)
    picture = mermaid(stage_edges())
    if not args.write:
        print(picture)
        return 0
    text = DOC.read_text()
    if doc_block(text) is None:
        print(f"{DOC}: no markers; add the lines\n{BEGIN}\n{END}\nwhere the picture goes", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{picture}\n{END}{rest.split(END, 1)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
