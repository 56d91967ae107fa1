"""The rows of a batch body, validated one by one, so that one 422 lists every problem of the batch.

FastAPI validates a body as a whole: a row missing a field would be reported alone, and the service's own checks
of the other rows (unknown zones, duplicates, check characters) only in a second round. A batch route instead
takes its body unvalidated (documented as the envelope model with its rows' model, `schemas.documented_body`),
checks the envelope and each row here, sends the well-formed rows with their indexes in the batch, and asks the
service to check only (`validate_only`) when anything was malformed; `send` then answers with both findings in
row order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from services.gateway.problems import Problem, validation_message, validation_problem
from services.gateway.wire import sent_media_type

Row = TypeVar("Row", bound=BaseModel)
Envelope = TypeVar("Envelope", bound=BaseModel)
Message = TypeVar("Message")
Reply = TypeVar("Reply")


@dataclass
class BatchRows(Generic[Message]):
    """The well-formed rows as messages, each with its index in the batch, and the malformed rows' errors."""

    name: str  # the list's field in the body: errors are located ["body", name, index, ...]
    messages: list[Message] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(
        cls, name: str, rows: Sequence[Any], model: type[Row], to_message: Callable[[Row], Message]
    ) -> BatchRows[Message]:
        parsed: BatchRows[Message] = cls(name)
        for index, row in enumerate(rows):
            try:
                valid = model.model_validate(row)
            except ValidationError as exc:
                parsed.errors += [
                    {"location": ["body", name, index, *e["loc"]], "message": validation_message(e)}
                    for e in exc.errors()
                ]
                continue
            parsed.messages.append(to_message(valid))
            parsed.indexes.append(index)
        return parsed

    @classmethod
    def from_body(
        cls,
        body: Any,
        envelope: type[Envelope],
        name: str,
        model: type[Row],
        to_message: Callable[[Row], Message],
        content_type: str,
    ) -> tuple[Envelope | None, BatchRows[Message]]:
        """The body as `envelope` (its list `name` as given, `list[Any]`), or None when the envelope itself is wrong
        (an unknown member, another field's type, the list too long); and the list's rows, each parsed whatever the
        envelope's own errors, which come first in `errors`: one answer names every problem of the body."""
        if isinstance(body, bytes):
            # FastAPI parses only JSON media types; any other body reaches an `Any` parameter as bytes.
            sent = sent_media_type(content_type)
            raise Problem(415, f"send the body as application/json (the request has {sent})", "unsupported_media_type")
        checked: Envelope | None = None
        errors: list[dict[str, Any]] = []
        try:
            checked = envelope.model_validate(body)
        except ValidationError as exc:
            errors = [{"location": ["body", *e["loc"]], "message": validation_message(e)} for e in exc.errors()]
        listed = body.get(name) if isinstance(body, dict) else None
        parsed = cls.parse(name, listed if isinstance(listed, list) else [], model, to_message)
        parsed.errors = errors + parsed.errors
        return checked, parsed

    @property
    def check_only(self) -> bool:
        """Some rows are malformed: the service is asked to check the others, never to store them."""
        return bool(self.errors)

    async def send(self, call: Callable[[], Awaitable[Reply]]) -> Reply:
        """The service's reply to `call` (the batch's well-formed rows, `check_only` as `validate_only`); a 422
        listing everything wrong with the batch when anything is, whether the service found it or this did."""
        if self.check_only and not self.messages:
            raise self.problem()  # nothing for the service to check
        try:
            reply = await call()
        except Problem as problem:
            raise self.merged(problem) from None
        if self.check_only:
            raise self.problem()
        return reply

    def problem(self, found_by_service: Sequence[dict[str, Any]] = ()) -> Problem:
        """One 422: the malformed rows' errors and what the service found in the others, in row order."""
        return validation_problem(sorted([*self.errors, *found_by_service], key=_row_of))

    def merged(self, problem: Problem) -> Problem:
        """The service's answer to the well-formed rows, with the malformed rows' errors added when it is a 422."""
        if problem.status != 422 or not self.errors:
            return problem
        return self.problem(problem.errors)


def _row_of(error: dict[str, Any]) -> int:
    location = error["location"]
    return location[2] if len(location) > 2 and isinstance(location[2], int) else -1
