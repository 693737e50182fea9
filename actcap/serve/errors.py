"""The service's one error type: `ServiceError(status, detail)` is what every route, guard and the live stream
raise for a request they refuse; `create_app` answers it as JSON `{"detail": …}` with that status (and any
headers it carries, e.g. `Retry-After`).

    raise ServiceError(404, "model: unknown model 'nope'; choose one of: default, arrows")
    raise ServiceError(429, "3 teach jobs are waiting already …", headers={"Retry-After": "30"})

A full disk or a read-only folder is `disk_error`'s 507 or 503, naming the folder in words.
"""

from __future__ import annotations

import logging

from actcap.fileio import READ_ONLY, disk_problem

log = logging.getLogger(__name__)
STORE = "the model store (ACTCAP_HOME)"
TEMP = "the temporary folder (TMPDIR)"


class ServiceError(Exception):
    """A request the service refuses: `status` is the HTTP code, `detail` the message for the client."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        self.status, self.detail, self.headers = status, detail, headers or {}
        super().__init__(detail)


def disk_error(error: OSError, where: str, needed: int | None = None) -> ServiceError | None:
    """A full disk (507) or a read-only folder (503) as a refusal naming `where` in words (replies never show
    server paths; the log has the path); None for any other error, which stays a bug."""
    problem = disk_problem(error, where, needed)
    if problem is None:
        return None
    log.error("%s: %s (%s)", where, problem, error)
    return ServiceError(503 if error.errno in READ_ONLY else 507, problem, {"Retry-After": "60"})
