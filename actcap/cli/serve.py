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

from actcap.cli.common import add_open_set_arg
from actcap.serve.settings import CLI_FLAGS, ServeSettings, env_var, flag

# largest WebSocket message accepted: one live frame (a 2048x2048 JPEG is a few MiB)
WS_MAX_BYTES = 8 * 1024 * 1024


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API and web page", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d = ServeSettings()
    # every flag defaults to None, so an unset flag leaves its ACTCAP_ variable (or the default) in charge
    p.add_argument("--model", type=Path, help=f"run directory (default: the shipped model; env {env_var('model')})")
    p.add_argument("--engine", help=f"frame-CNN engine: onnx (CPU default) or torch (env {env_var('engine')})")
    p.add_argument("--host", help=f"interface to bind (default {d.host}; 0.0.0.0 = all interfaces, i.e. reachable "
                                  f"from the network; env {env_var('host')})")
    p.add_argument("--port", type=int, help=f"TCP port (default {d.port}; env {env_var('port')})")
    p.add_argument("--allowed-hosts", metavar="NAMES",
                   help="comma-separated host names or addresses the service answers to besides 127.0.0.1, "
                        f"localhost, [::1] and the --host address; * = any (env {env_var('allowed_hosts')})")
    add_open_set_arg(p, "use")
    p.set_defaults(open_set=None)
    limits = p.add_argument_group("limits (each also read from its environment variable)")
    for name, kind, text in (("max_frames", int, "image files per request"),
                             ("max_upload_mb", float, "MiB per request body"),
                             ("max_pixels", int, "pixels per image or video frame"),
                             ("max_streams", int, "live /stream connections at once"),
                             ("workers", int, "inference calls (with decoding) at once"),
                             ("max_teach_mb", float, "MiB per POST /teach body, all its example videos")):
        default = getattr(d, name)
        default = f"{default:g}" if isinstance(default, float) else default
        limits.add_argument(flag(name), type=kind, metavar="N",
                            help=f"{text} (default {default}; env {env_var(name)})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from actcap.serve import create_app, resolve_settings
    from actcap.serve.teaching import load_startup_predictor

    settings = resolve_settings(**{name: getattr(args, name) for name in CLI_FLAGS})
    if settings.host in ("0.0.0.0", "::"):
        print(f"warning: listening on all interfaces ({settings.host}); anyone on the network can use the "
              "service", flush=True)
        if not settings.allowed_hosts:
            print("warning: only requests naming 127.0.0.1, localhost or [::1] are answered; to be reached by "
                  "this machine's name or address, add --allowed-hosts NAME[,NAME…]", flush=True)
    print(f"actcap: http://{settings.host}:{settings.port}/ (API docs at /docs); loading the model…", flush=True)
    loaded = load_startup_predictor(settings)  # resolved and loaded once; a bad model: one line, no traceback
    uvicorn.run(create_app(settings, loaded), host=settings.host, port=settings.port, ws_max_size=WS_MAX_BYTES,
                log_level="info")
    return 0
