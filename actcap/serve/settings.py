"""Service settings through pydantic-settings: defaults < environment (ACTCAP_<NAME>) < command-line flags.

    ACTCAP_MAX_FRAMES=32 actcap serve --max-upload-mb 16

`ServeSettings(...)` is exactly what it is given (tests and code build it directly); `resolve_settings`
is the one place that reads the environment, with pydantic-settings' `ACTCAP_` source, and lays the flags
over it. Every field can be set by its variable (ACTCAP_WORKERS, ACTCAP_STREAM_EVERY, …). Every limit is
checked in `actcap.serve.uploads` or `actcap.serve.live` and named in the error a client gets back, so a
refused request says which setting to change. docs/api.md lists them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Mapping

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

ENV_PREFIX = "ACTCAP_"
# settings that `actcap serve` has a flag for (actcap/cli/serve.py); the others are set by their variable only
CLI_FLAGS = ("model", "engine", "host", "port", "open_set", "allowed_hosts", "max_frames", "max_upload_mb",
             "max_pixels", "max_streams", "max_live_frame_mb", "workers", "max_teach_mb", "max_teach_videos",
             "max_teach_jobs", "teach_threads")
# refusals name both ways to change these (a client hits them); the rest name the flag, or the variable if no flag
NAMED_WITH_VARIABLE = ("max_frames", "max_upload_mb", "max_pixels", "max_streams", "allowed_hosts")
AT_LEAST_1 = ("max_frames", "max_pixels", "max_streams", "workers", "stream_every", "stream_queue", "max_teach_jobs",
              "teach_threads", "max_teach_videos", "kept_jobs", "cached_models")
ABOVE_0 = ("max_upload_mb", "stream_interval_ms", "stream_idle_s", "max_teach_mb", "max_live_frame_mb")
PARSE_ERRORS = {"int_parsing": "a number", "int_from_float": "a number", "float_parsing": "a decimal number",
                "bool_parsing": "true or false"}


def flag(name: str) -> str:
    """The CLI flag of a setting: max_frames → --max-frames."""
    return "--" + name.replace("_", "-")


def env_var(name: str) -> str:
    """The environment variable of a setting: max_frames → ACTCAP_MAX_FRAMES."""
    return ENV_PREFIX + name.upper()


def source(name: str) -> str:
    """How a user changes a setting, for error messages: '--max-frames / ACTCAP_MAX_FRAMES', '--workers',
    'ACTCAP_STREAM_EVERY'."""
    if name in NAMED_WITH_VARIABLE:
        return f"{flag(name)} / {env_var(name)}"
    return flag(name) if name in CLI_FLAGS else env_var(name)


class ServeSettings(BaseSettings):
    """Frozen; equal when every field is. Invalid values raise one ValueError listing every problem."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid",
                                      use_attribute_docstrings=True)

    model: Path | None = None
    """Run directory written by `actcap train --out`, or a model store name (None: the active/shipped model)."""
    engine: str | None = None
    """Frame-CNN engine, onnx or torch (None: torch on a GPU, onnx on CPU)."""
    host: str = "127.0.0.1"
    """Interface to bind; 0.0.0.0 exposes the service to the network, so it is never the default."""
    port: int = 5000
    """TCP port."""
    open_set: bool = True
    """Answer state "unknown" when the model's open-set score says so (`--open-set off`: never)."""
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Host names answered besides 127.0.0.1, localhost, [::1] and the bind address (`*`: any); others get
    400, so a DNS-rebinding page cannot drive the service (actcap.serve.hosts). Needed with --host 0.0.0.0.
    Comma-separated in the flag and the variable."""
    max_frames: int = 64
    """Most image files one POST /predict may carry; more is refused with 413 (the model samples its own count).
    The name is kept although it counts files: it is the flag, the variable, /health's `limits.max_frames`
    and every refusal's text."""
    max_upload_mb: float = 32.0
    """Most bytes one POST /predict body may have, in MiB; more is refused with 413."""
    max_pixels: int = 8_294_400
    """Most pixels (width × height) of one uploaded image, video frame or live frame; checked before decoding.
    Each frame is reduced to working size (640 px) as it is decoded, so this bounds the one full-size image in
    memory per worker (about 100 MB at the default 3840 × 2160, 4K UHD), not the whole request (docs/api.md, Memory)."""
    max_streams: int = 4
    """Most live /stream connections at once; one more is refused politely (close code 1013)."""
    max_live_frame_mb: float = 8.0
    """Largest live frame (one /stream message), in MiB; a bigger one closes the stream (close code 1009)."""
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
    """Where taught models are kept (None: the user data folder; see actcap/models/store.py)."""
    base_model: Path | None = None
    """The model whose actions and training examples POST /teach with base=default extends (None: the shipped
    one); it needs an examples.safetensors beside its config.json."""
    max_teach_mb: float = 256.0
    """Most bytes one POST /teach body (all its example videos) may have, in MiB; more is refused with 413."""
    max_teach_videos: int = 400
    """Most example videos one POST /teach may carry; more is refused with 422."""
    max_teach_jobs: int = 3
    """Most teach jobs waiting behind the running one; one more is refused with 429 and Retry-After (each
    waiting job holds its uploaded videos on disk, up to --max-teach-mb each)."""
    teach_threads: int = 1
    """torch threads a teach job trains with; the job also runs at lower CPU priority, so predictions keep
    their cores while it runs (docs/api.md, "Teaching while serving", has the measured cost)."""
    kept_jobs: int = 100
    """Finished teach jobs remembered for GET /jobs (in memory: a restart forgets jobs, never models)."""
    cached_models: int = 4
    """Models kept loaded for model=NAME besides the active one; another is loaded again when next asked for."""

    def __init__(self, **values: Any):
        try:
            super().__init__(**values)
        except ValidationError as e:  # one message in our words, every problem listed
            raise ValueError("invalid serve settings:\n  " + "\n  ".join(_issues(e))) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **other_sources):
        """Only the values given: `resolve_settings` adds the environment, so tests never see the developer's."""
        return (init_settings,)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        return parse_hosts(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> ServeSettings:
        issues = [f"{source(n)} must be at least 1; got {getattr(self, n)}" for n in AT_LEAST_1
                  if getattr(self, n) < 1]
        issues += [f"{source(n)} must be greater than 0; got {getattr(self, n):g}" for n in ABOVE_0
                   if not getattr(self, n) > 0]
        if not self.stream_min_interval_ms >= 0:
            issues.append(f"{source('stream_min_interval_ms')} must be 0 or more; got {self.stream_min_interval_ms:g}")
        for name in self.allowed_hosts:
            if not name or "/" in name or any(c.isspace() for c in name) or _has_port(name):
                issues.append(f"{source('allowed_hosts')}: {name!r} is not a host name; expected names or "
                              "addresses without scheme or port, comma-separated (e.g. 192.168.1.5,myhost.lan), "
                              "or *")
        if not 0 <= self.port <= 65535:
            issues.append(f"{source('port')} must be between 0 and 65535; got {self.port}")
        if issues:
            raise ValueError("\n".join(issues))
        return self


def _issues(error: ValidationError) -> list[str]:
    """pydantic's errors as lines that name the flag or variable: text for a number can only come from the
    environment, so it is shown as the variable's assignment."""
    lines = []
    for e in error.errors():
        name = str(e["loc"][0]) if e["loc"] else ""
        if e["type"] == "value_error":  # _check's lines
            lines += str(e["ctx"]["error"]).splitlines()
        elif e["type"] in PARSE_ERRORS and isinstance(e["input"], str):
            lines.append(f"{env_var(name)}={e['input']!r} is not {PARSE_ERRORS[e['type']]}")
        elif e["type"] == "extra_forbidden":
            lines.append(f"unknown setting {name!r}")
        else:
            lines.append(f"{source(name)}: {e['msg']}; got {e['input']!r}")
    return lines


def _has_port(name: str) -> bool:
    """'myhost:5000' or '[::1]:5000' (refused: any port is allowed); not an IPv6 address like 'fe80::1'."""
    if name.startswith("["):
        return "]:" in name
    return name.count(":") == 1


def parse_hosts(text: str) -> tuple[str, ...]:
    """'a.lan, 10.0.0.2' → ('a.lan', '10.0.0.2'): the form of ACTCAP_ALLOWED_HOSTS and --allowed-hosts."""
    return tuple(h.strip() for h in text.split(",") if h.strip())


class Environment(EnvSettingsSource):
    """pydantic-settings' ACTCAP_<NAME> source over a mapping (os.environ unless a test passes its own);
    a variable set to nothing or blanks counts as unset."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        super().__init__(ServeSettings)

    def _load_env_vars(self) -> Mapping[str, str]:
        return {k.lower(): v for k, v in self.environ.items() if v.strip()}  # names match case-insensitively


def resolve_settings(env: Mapping[str, str] | None = None, **flags) -> ServeSettings:
    """Defaults, then ACTCAP_* variables from `env` (default os.environ), then `flags` that are not None."""
    unknown = set(flags) - set(ServeSettings.model_fields)
    if unknown:
        raise TypeError(f"unknown serve setting(s): {', '.join(sorted(unknown))}")
    values = Environment(os.environ if env is None else env)()
    values.update({k: v for k, v in flags.items() if v is not None})
    return ServeSettings(**values)
