"""Typed errors: one class per status code the daemon answers with."""


class MasterydError(Exception):
    """The daemon refused a request (or could not be reached: ConnectionTimeout).

    code    -- the status name: "INVALID", "NOT_FOUND", "CONFLICT", "UNAVAILABLE", ...
    field   -- the offending field as the daemon names it ("items[3].score"), or ""
    message -- the daemon's explanation, for a person
    partial -- from submit_batch: the BatchResult of the items answered before the request
               that failed (None elsewhere)
    """

    partial = None

    def __init__(self, code, message="", field=""):
        self.code = code
        self.message = message
        self.field = field
        super().__init__(code, message, field)

    def __str__(self):
        where = self.field + ": " if self.field else ""
        return "%s: %s%s" % (self.code, where, self.message)

    def __repr__(self):
        return "%s(code=%r, field=%r, message=%r)" % (type(self).__name__, self.code,
                                                     self.field, self.message)


class InvalidError(MasterydError):
    """Malformed or out of range; .field names what."""


class NotFoundError(MasterydError):
    """An id (framework, competency) that does not exist."""


class ConflictError(MasterydError):
    """Contradicts stored data: an evidence id with other content, a prerequisite cycle."""


class UnavailableError(MasterydError):
    """Temporary (disk full, shutting down): retry later with the same ids."""


class ForbiddenError(MasterydError):
    """Authenticated, but not allowed to do this."""


class UnauthenticatedError(MasterydError):
    """No valid credentials."""


class InternalError(MasterydError):
    """A fault inside the daemon."""


class DataLossError(MasterydError):
    """A stored record this request needed is damaged (field names it). Not retryable: the
    operator restores it from a backup (`masteryd --check` lists every damaged record)."""


class GoneError(MasterydError):
    """The learner was erased (EraseLearner): nothing of theirs is kept. .field names the
    learner id (or credential id) that was refused; reenrol_learner makes the id usable again,
    as a new learner."""


class ConnectionTimeout(MasterydError, TimeoutError):
    """No answer within timeout x (retries + 1): the daemon is down, stopped or unreachable.

    For submit_* the outcome is unknown: send the same items again later (same ids)."""

    def __init__(self, message, field=""):
        super().__init__("TIMEOUT", message, field)


_BY_CODE = {
    "INVALID": InvalidError,
    "NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError,
    "UNAVAILABLE": UnavailableError,
    "FORBIDDEN": ForbiddenError,
    "UNAUTHENTICATED": UnauthenticatedError,
    "INTERNAL": InternalError,
    "DATA_LOSS": DataLossError,
    "GONE": GoneError,
}


def error_for(code, message="", field=""):
    """The typed error for a status name ("INVALID" -> InvalidError)."""
    return _BY_CODE.get(code, MasterydError)(code, message, field)
