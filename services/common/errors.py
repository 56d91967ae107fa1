"""Domain errors, defined once; the gRPC interceptor maps them to status codes, the gateway maps those to HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import grpc


@dataclass(frozen=True)
class FieldViolation:
    """One bad input: where (e.g. ("values", 3, "year")) and why."""

    location: tuple[str | int, ...]
    message: str


@dataclass
class DomainError(Exception):
    message: str
    violations: list[FieldViolation] = field(default_factory=list)
    code: str = "error"

    status: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidArgument(DomainError):
    # The gateway's code for a 422 whatever found it (its own schema or a service's rules): one code for clients.
    code: str = "validation_failed"
    status: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT


@dataclass
class MalformedInput(DomainError):
    """A body that cannot be read at all (not UTF-8, not JSON, broken CSV quoting). Same gRPC status as
    InvalidArgument; the gateway answers 400 for it, as for any unparseable body, instead of 422."""

    code: str = "malformed_body"
    status: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT


# Why a JSON body nested deeper than Python's parser follows cannot be read: json.loads recurses once per array or
# object and raises RecursionError at the interpreter's recursion limit (1,000 frames, less those of its callers).
JSON_TOO_DEEP = "the request body is not valid JSON: arrays and objects nested too deeply to read"


@dataclass
class NotFound(DomainError):
    code: str = "not_found"
    status: grpc.StatusCode = grpc.StatusCode.NOT_FOUND


@dataclass
class Conflict(DomainError):
    code: str = "conflict"
    status: grpc.StatusCode = grpc.StatusCode.ALREADY_EXISTS


@dataclass
class FailedPrecondition(DomainError):
    code: str = "failed_precondition"
    status: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION


@dataclass
class Unavailable(DomainError):
    """A service this one depends on cannot answer now; the caller may retry (HTTP 503)."""

    code: str = "unavailable"
    status: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE


# Trailing-metadata keys carrying what a status code alone cannot: the stable error code and field violations.
ERROR_CODE_KEY = "gaoxin-error-code"
VIOLATIONS_KEY = "gaoxin-violations-bin"


def encode_violations(violations: list[FieldViolation]) -> bytes:
    return json.dumps(
        [{"location": list(v.location), "message": v.message} for v in violations], ensure_ascii=False
    ).encode()


def decode_violations(raw: bytes | str | None) -> list[FieldViolation]:
    if not raw:
        return []
    items = json.loads(raw)
    return [FieldViolation(tuple(item["location"]), item["message"]) for item in items]
