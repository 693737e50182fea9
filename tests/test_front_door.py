"""The front door describes the house as it is: the package docstring lists every stage, the README's picture
names every registered head and stream and only folders that exist, and docs/architecture.md's registry sentence
names every registered backbone, stream, head, engine and open-set score."""

import re
from pathlib import Path

import actcap
from actcap.features.engine import list_engines
from actcap.features.streams import list_streams
from actcap.honesty.openset import list_scores
from actcap.models.backbones import list_backbones
from actcap.models.heads import list_heads

ROOT = Path(__file__).resolve().parents[1]


def subpackages() -> set[str]:
    return {p.name for p in (ROOT / "actcap").iterdir() if p.is_dir() and p.name != "__pycache__"}


def test_the_package_docstring_lists_every_stage():
    listed = set(re.findall(r"^    ([a-z_]+)/ ", actcap.__doc__, re.M))
    assert listed == subpackages()


def test_the_readme_picture_names_every_head_and_stream_and_real_folders():
    text = (ROOT / "README.md").read_text()
    picture = text[text.index("## How it works"):].split("```")[1]
    assert set(re.findall(r"([a-z_]+)/", picture)) <= subpackages()
    missing = [n for n in list_heads() + list_streams() if not re.search(rf"\b{n}\b", picture)]
    assert missing == []


def test_the_architecture_page_names_every_registered_choice():
    text = (ROOT / "docs" / "architecture.md").read_text()
    sentence = text[text.index("The registries name"):].split("\n\n")[0]
    names = list_backbones() + list_streams() + list_heads() + list_engines() + list_scores()
    missing = [n for n in names if f"`{n}`" not in sentence and f"`_{n.split('_')[-1]}`" not in sentence]
    assert missing == []


def test_the_call_paths_name_functions_and_methods_that_exist():
    """docs/architecture.md's `stage/module.function` and `Class.method` names are the code's, so a rename
    cannot leave the page describing an older house."""
    import importlib
    import inspect
    import pkgutil

    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = []
    for module, attr in sorted(set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+)\.([A-Za-z_]\w*)", text))):
        if attr != "py" and not hasattr(importlib.import_module("actcap." + module.replace("/", ".")), attr):
            missing.append(f"{module}.{attr}")
    classes = {}
    for info in pkgutil.walk_packages(actcap.__path__, "actcap."):
        if not info.name.endswith("__main__"):
            for name, obj in vars(importlib.import_module(info.name)).items():
                if inspect.isclass(obj) and obj.__module__.startswith("actcap"):
                    classes[name] = obj
    for cls, attr in sorted(set(re.findall(r"`([A-Z][A-Za-z]+)\.([a-z_]+)", text))):
        if cls in classes and not hasattr(classes[cls], attr):
            missing.append(f"{cls}.{attr}")
    assert missing == []
