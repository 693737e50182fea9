"""The package's shape, checked: stages import only down the pipeline, every module is documented, none is long,
and the picture in docs/architecture.md is the one the imports draw (scripts/import_graph.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stages_import_without_cycles():
    graph = load_graph()
    reach = graph.reachable(graph.stage_edges())
    assert sorted(a for a, targets in reach.items() if a in targets) == []


def test_library_never_imports_the_front_ends():
    edges = load_graph().stage_edges()
    assert sorted((a, b) for a, b in edges if b in ("cli", "bench") and a != "cli") == []
    assert sorted(a for a, b in edges if b == "serve" and a not in ("cli", "bench")) == []


def test_docs_picture_matches_the_imports():
    graph = load_graph()
    assert graph.doc_block(graph.DOC.read_text()) == graph.mermaid(graph.stage_edges())


def test_every_module_is_named_in_the_architecture_doc():
    text = load_graph().DOC.read_text()
    missing = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "actcap").rglob("*.py"))
               if p.name != "__init__.py" and str(p.relative_to(ROOT)) not in text]
    assert missing == []


def test_no_module_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "actcap").rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}


def test_one_training_loop():
    """Training, the held-out heads, teaching and fine-tuning all step through training/loop.py `run_epochs`:
    no other module runs a backward pass."""
    stepping = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "actcap").rglob("*.py"))
                if ".backward()" in p.read_text()]
    assert stepping == ["actcap/training/loop.py"]
