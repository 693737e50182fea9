"""`actcap models`: the shipped model and the taught ones (`actcap teach`), and which one `actcap serve` uses.

    actcap models            # a table
    actcap models --json     # everything GET /models answers
"""

from __future__ import annotations

import argparse

from actcap.cli.common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list taught models", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.models.store import ModelStore

    store = ModelStore()
    models = store.list_models()
    if args.json:
        print_json({"home": str(store.root), "models": models})
        return 0
    print(f"models in {store.root} (`--model NAME` uses one; * = what `actcap serve` starts with)")
    for m in models:
        top1 = (m.get("metrics") or {}).get("top1")
        check = f"{100 * top1:.0f}% ({m['metrics']['method']})" if top1 is not None and "method" in m["metrics"] else ""
        print(f"{'*' if m['active'] else ' '} {m['name']:<24} {(m['created'] or 'shipped'):<21} {check:<28} "
              f"{', '.join(m['classes'])}")
    return 0
