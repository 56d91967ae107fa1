"""RFC 9457 problem details: every error the gateway returns, in one shape."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

from services.common.logs import request_id_var

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://gaoxin.example/problems/"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class Problem(Exception):
    """Raised anywhere in the gateway to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        code: str,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = list(errors)
        self.headers = headers or {}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def problem_response(problem: Problem) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "request_id": request_id_var.get(),
    }
    if problem.errors:
        body["errors"] = problem.errors
    return ProblemResponse(body, status_code=problem.status, headers=problem.headers)
