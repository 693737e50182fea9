"""Service settings: one frozen dataclass; defaults < environment (ACTCAP_*) < command-line flags.

    ACTCAP_MAX_FRAMES=32 actcap serve --max-upload-mb 16

Every limit is checked in `actcap.serve.uploads` or `actcap.serve.stream` and named in the error a client
gets back, so a refused request says which setting to change. docs/api.md lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping

# setting name -> environment variable; the CLI flag is always `--` + the name with dashes
ENV_VARS = {
    "max_frames": "ACTCAP_MAX_FRAMES",
    "max_upload_mb": "ACTCAP_MAX_UPLOAD_MB",
    "max_pixels": "ACTCAP_MAX_PIXELS",
    "max_streams": "ACTCAP_MAX_STREAMS",
    "allowed_hosts": "ACTCAP_ALLOWED_HOSTS",
}


def flag(name: str) -> str:
    """The CLI flag of a setting: max_frames → --max-frames."""
    return "--" + name.replace("_", "-")


def source(name: str) -> str:
    """How a user changes a setting, for error messages: '--max-frames / ACTCAP_MAX_FRAMES'."""
    return f"{flag(name)} / {ENV_VARS[name]}" if name in ENV_VARS else flag(name)


@dataclass(frozen=True)
class ServeSettings:
    model: Path | None = None
    """Run directory written by `actcap train --out` (None: the model shipped in the package)."""
    engine: str | None = None
    """Frame-CNN engine, onnx or torch (None: torch on a GPU, onnx on CPU)."""
    host: str = "127.0.0.1"
    """Interface to bind; 0.0.0.0 exposes the service to the network, so it is never the default."""
    port: int = 5000
    """TCP port."""
    open_set: bool = True
    """Answer state "unknown" when the model's open-set score says so (`--open-set off`: never)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names answered besides 127.0.0.1, localhost, [::1] and the bind address (`*`: any); others get
    400, so a DNS-rebinding page cannot drive the service (actcap.serve.hosts). Needed with --host 0.0.0.0."""
    max_frames: int = 64
    """Most image files one POST /predict may carry; more is refused with 413 (the model samples its own count)."""
    max_upload_mb: float = 32.0
    """Most bytes one POST /predict body may have, in MiB; more is refused with 413."""
    max_pixels: int = 8_294_400
    """Most pixels (width × height) of one uploaded image, video frame or live frame; checked before decoding.
    Each frame is reduced to working size (640 px) as it is decoded, so this bounds the one full-size image in
    memory per worker (about 100 MB at the default 3840 × 2160, 4K UHD), not the whole request (docs/api.md, Memory)."""
    max_streams: int = 4
    """Most live /stream connections at once; one more is refused politely (close code 1013)."""
    workers: int = 2
    """Inference calls, with the decoding of their frames, that may run at once in the thread pool (the event
    loop itself never runs inference); at most twice as many POST /predict bodies are held in memory at once."""
    stream_every: int = 3
    """A live prediction is sent after this many new frames …"""
    stream_interval_ms: float = 150.0
    """… or this long after the previous one, whichever comes first (and only if a new frame arrived) …"""
    stream_min_interval_ms: float = 100.0
    """… but never sooner than this after the previous one: at most 10 updates a second, however fast frames
    come (a caption changing faster cannot be read; the CNN gets the time, and the queued frames as a batch)."""
    stream_queue: int = 4
    """Live frames waiting to be processed per connection; when a client sends faster, the oldest is dropped."""
    stream_idle_s: float = 60.0
    """A live connection that sends nothing for this long is closed, freeing its slot."""
    home: Path | None = None
    """Where taught models are kept (None: $ACTCAP_HOME or the user data folder; see actcap/teach/store.py)."""
    base_model: Path | None = None
    """The model whose actions and training examples POST /teach with base=default extends (None: the shipped
    one); it needs an examples.safetensors beside its config.json."""
    max_teach_mb: float = 256.0
    """Most bytes one POST /teach body (all its example videos) may have, in MiB; more is refused with 413."""

    def __post_init__(self):
        hosts = self.allowed_hosts
        object.__setattr__(self, "allowed_hosts", parse_hosts(hosts) if isinstance(hosts, str) else tuple(hosts))
        issues = []
        for name in ("max_frames", "max_pixels", "max_streams", "workers", "stream_every", "stream_queue"):
            if getattr(self, name) < 1:
                issues.append(f"{source(name)} must be at least 1; got {getattr(self, name)}")
        for name in ("max_upload_mb", "stream_interval_ms", "stream_idle_s", "max_teach_mb"):
            if not getattr(self, name) > 0:
                issues.append(f"{source(name)} must be greater than 0; got {getattr(self, name)}")
        if not self.stream_min_interval_ms >= 0:
            issues.append(f"{source('stream_min_interval_ms')} must be 0 or more; got {self.stream_min_interval_ms}")
        for name in self.allowed_hosts:
            if not name or "/" in name or any(c.isspace() for c in name) or _has_port(name):
                issues.append(f"{source('allowed_hosts')}: {name!r} is not a host name; expected names or "
                              "addresses without scheme or port, comma-separated (e.g. 192.168.1.5,myhost.lan), "
                              "or *")
        if not 0 <= self.port <= 65535:
            issues.append(f"--port must be between 0 and 65535; got {self.port}")
        if issues:
            raise ValueError("invalid serve settings:\n  " + "\n  ".join(issues))


def _has_port(name: str) -> bool:
    """'myhost:5000' or '[::1]:5000' (refused: any port is allowed); not an IPv6 address like 'fe80::1'."""
    if name.startswith("["):
        return "]:" in name
    return name.count(":") == 1


def parse_hosts(text: str) -> tuple[str, ...]:
    """'a.lan, 10.0.0.2' → ('a.lan', '10.0.0.2'): the form of ACTCAP_ALLOWED_HOSTS and --allowed-hosts."""
    return tuple(h.strip() for h in text.split(",") if h.strip())


def resolve_settings(env: Mapping[str, str] | None = None, **overrides) -> ServeSettings:
    """Defaults, then ACTCAP_* variables from `env` (default os.environ), then `overrides` that are not None."""
    env = os.environ if env is None else env
    types = {f.name: f.type for f in fields(ServeSettings)}
    values, issues = {}, []
    for name, var in ENV_VARS.items():
        if name == "allowed_hosts" and env.get(var, "").strip():
            values[name] = parse_hosts(env[var])
        elif env.get(var, "").strip():
            cast = float if types[name] == "float" else int
            try:
                values[name] = cast(env[var])
            except ValueError:
                issues.append(f"{var}={env[var]!r} is not a{'' if cast is int else ' decimal'} number")
    if issues:
        raise ValueError("invalid serve settings:\n  " + "\n  ".join(issues))
    unknown = set(overrides) - set(types)
    if unknown:
        raise TypeError(f"unknown serve setting(s): {', '.join(sorted(unknown))}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("model") is not None:
        values["model"] = Path(values["model"])
    return ServeSettings(**values)
