"""Domain errors. Each carries a Spanish message that tells the user what happened and what to do;
``mpv.web.errors`` maps each class to an HTTP status in one place, the CLI prints the message."""


class MPVError(Exception):
    """Base class: ``str(error)`` is the message shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(MPVError):
    """The expediente, task or record does not exist (or is not visible to this user)."""


class Conflict(MPVError):
    """Someone else changed the same thing first; reload and try again."""


class NotAllowed(MPVError):
    """This user may not do this."""


class NotAuthenticated(MPVError):
    """A request to the staff API without a valid token (HTTP 401 with ``WWW-Authenticate: Bearer``)."""


class Throttled(MPVError):
    """Too many attempts: wait ``retry_after`` seconds (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class InvalidInput(MPVError):
    """Input that breaks a rule; ``campos`` maps each offending field to its message."""

    def __init__(self, message: str, campos: dict[str, str] | None = None):
        super().__init__(message)
        self.campos = dict(campos or {})


class ArchivoRechazado(InvalidInput):
    """A file refused by the PDF check (not a PDF, damaged, encrypted, active content…); ``nombre`` is its name.
    Recorded in the audit chain as a refusal (folded per address and minute)."""

    def __init__(self, message: str, campos: dict[str, str] | None = None, nombre: str = ""):
        super().__init__(message, campos)
        self.nombre = nombre


class TooLarge(InvalidInput):
    """An upload over its configured limit."""


class DefinitionError(MPVError):
    """A process definition that does not validate; ``problems`` lists each one by element id."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)
