"""`actcap serve`: the HTTP API and web page (http://127.0.0.1:5000/, API docs at /docs).

    actcap serve                              # the shipped model, on this machine only
    actcap serve --model runs/utd5 --host 0.0.0.0 --allowed-hosts myhost.lan,192.168.1.5 --port 8000

Only requests naming this machine as 127.0.0.1, localhost or [::1] (or the --host address) are answered
unless --allowed-hosts names more (a guard against DNS rebinding). Every setting also comes from its
ACTCAP_<NAME> variable (ACTCAP_MAX_FRAMES, ACTCAP_ALLOWED_HOSTS, ACTCAP_STREAM_EVERY, …; actcap/serve/settings.py);
a flag wins over its variable. See docs/api.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from actcap.cli.common import on_off
from actcap.serve.settings import CLI_FLAGS, ServeSettings, env_var, flag


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API and web page", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d = ServeSettings()
    limits = p.add_argument_group("limits (each also read from its environment variable)")
    # one flag per setting in CLI_FLAGS, its help the field's docstring; every flag defaults to None, so an
    # unset flag leaves its ACTCAP_ variable (or the default) in charge
    for name in CLI_FLAGS:
        field = ServeSettings.model_fields[name]
        default = getattr(d, name)
        shown = {True: "on", False: "off"}.get(default, f"{default:g}" if isinstance(default, float) else default)
        said = f"default {shown}; " if default not in (None, ()) else ""
        text = f"{field.description} ({said}env {env_var(name)})".replace("%", "%%")
        if name == "open_set":
            p.add_argument(flag(name), type=on_off, metavar="{on,off}", help=text)
        elif name in ("host", "port", "model", "engine", "allowed_hosts"):
            p.add_argument(flag(name), type=_FLAG_TYPES.get(name, str), metavar=name.split("_")[-1].upper(),
                           help=text)
        else:
            limits.add_argument(flag(name), type=type(default), metavar="N", help=text)
    p.set_defaults(run=run)


_FLAG_TYPES = {"model": Path, "port": int}


def run(args: argparse.Namespace) -> int:
    from actcap.serve import create_app, resolve_settings
    from actcap.serve.served import load_startup_models
    from actcap.serve.server import make_server

    settings = resolve_settings(**{name: getattr(args, name) for name in CLI_FLAGS})
    if settings.host in ("0.0.0.0", "::"):
        print(f"warning: listening on all interfaces ({settings.host}); anyone on the network can use the "
              "service", flush=True)
        if not settings.allowed_hosts:
            print("warning: only requests naming 127.0.0.1, localhost or [::1] are answered; to be reached by "
                  "this machine's name or address, add --allowed-hosts NAME[,NAME…]", flush=True)
    print(f"actcap: http://{settings.host}:{settings.port}/ (API docs at /docs); loading the model…", flush=True)
    loaded = load_startup_models(settings)  # resolved and loaded once; a bad model: one line, no traceback
    make_server(create_app(settings, loaded), settings).run()
    return 0
