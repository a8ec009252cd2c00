"""Domain errors: exceptions with a code. The API maps them to problem+json, the UI to messages."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str = "", *, code: str | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code


class ValidationFailed(DomainError):
    """Input broke one or more rules; ``errors`` names every bad field."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"

    def __init__(self, errors: list[FieldError], detail: str = ""):
        names = ", ".join(sorted({error.field for error in errors}))
        super().__init__(detail or f"Invalid input in: {names}.")
        self.errors = errors


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"
