"""`actcap models`: the shipped model and the taught ones (`actcap teach`), and which one `actcap serve` uses.

    actcap models                 # a table; * marks the model in use
    actcap models --json          # everything GET /models answers
    actcap models use gestures    # serve this one from now on (a running server switches at its next request)
    actcap models use default     # back to the shipped model
    actcap models delete gestures # the model and its examples; the shipped model stays
"""

from __future__ import annotations

import argparse

from actcap.cli.common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list, switch and delete taught models", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON")
    actions = p.add_subparsers(dest="action", metavar="{use,delete}")
    use = actions.add_parser("use", help="make NAME the model in use (`default`: the shipped one)")
    use.add_argument("name", metavar="NAME")
    delete = actions.add_parser("delete", help="delete the taught model NAME and its examples")
    delete.add_argument("name", metavar="NAME")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.models.store import ModelStore

    store = ModelStore()
    if args.action == "use":
        store.activate(args.name)  # UnknownModelError (a ValueError) lists the names there are
        print(f"now using {args.name}; `actcap serve` starts with it and a running server switches to it")
        return 0
    if args.action == "delete":
        active = store.get_active() == args.name
        store.delete(args.name)
        print(f"deleted {args.name}" + ("; the shipped model is in use again" if active else ""))
        return 0
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
