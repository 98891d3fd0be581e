"""Domain errors. Only webapp/errors.py turns them into HTTP responses."""


class SagsgangError(Exception):
    """Root of every error the engine raises on purpose."""

    def __init__(self, message: str, **context):
        super().__init__(message)
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class NotFound(SagsgangError):
    """The thing asked for does not exist (or the user may not know it exists)."""


class NotAllowed(SagsgangError):
    """The user may not do this."""


class Conflict(SagsgangError):
    """The stored state moved on since it was read: a stale page or a lost race."""


class InvalidInput(SagsgangError):
    """Input that breaks a rule; `field` names the offending field when there is one."""

    def __init__(self, message: str, field: str | None = None, **context):
        super().__init__(message, field=field, **context)
        self.field = field


class ModelError(InvalidInput):
    """A BPMN/DMN/form file that cannot be used; names the file, the element and the reason."""

    def __init__(self, reason: str, file: str | None = None, element: str | None = None, **context):
        where = ", ".join(p for p in (f"file {file}" if file else None,
                                     f"element {element}" if element else None) if p)
        super().__init__(f"{where}: {reason}" if where else reason, file=file, element=element, **context)
        self.file = file
        self.element = element
        self.reason = reason


class WorkflowError(SagsgangError):
    """Running a case's workflow failed; keeps SpiffWorkflow's exception as __cause__."""

    def __init__(self, message: str, element: str | None = None, **context):
        super().__init__(message, element=element, **context)
        self.element = element
