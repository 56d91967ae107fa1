"""The OpenAPI document as the server really behaves: every error a route can answer, as problem+json.

FastAPI documents only the success responses and its own 422 shape; the gateway answers problems (RFC 9457)
for validation, auth, quotas, conflicts and backend failures, so each operation declares those too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from services.gateway import idempotency
from services.gateway.deps import authenticate_any
from services.gateway.problems import PROBLEM_JSON, TITLES
from services.gateway.schemas import DOCUMENTED_BODIES

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable error code"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["location", "message"],
                "properties": {
                    "location": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

WRITE_METHODS = {"post", "put", "patch", "delete"}
FASTAPI_422_DESCRIPTION = "Validation Error"  # what FastAPI writes for the 422 of every operation with parameters

# On every answer of an operation that declares the `Idempotency-Key` header (`idempotency.IdempotencyKey`).
IDEMPOTENT_REPLAYED_HEADER: dict[str, Any] = {
    "description": "`true` on an answer replayed for a repeated `Idempotency-Key`; absent otherwise",
    "schema": {"type": "string", "enum": ["true"]},
}


# The headers every answer, or every answer of a kind, carries (RequestContextMiddleware, deps.admit, the
# problems): declared once under components.headers, referenced from each response.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "the request's id: the client's `X-Request-ID` if it matches the pattern, else a generated one",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
    },
    "RateLimit-Policy": {
        "description": 'the API key\'s quota (IETF RateLimit fields): `"per-key";q=<requests>;w=<seconds>`',
        "required": True,
        "schema": {"type": "string", "examples": ['"per-key";q=6000;w=60']},
    },
    "RateLimit": {
        "description": 'what is left of the quota: `"per-key";r=<requests left>;t=<seconds until the window resets>`',
        "required": True,
        "schema": {"type": "string", "examples": ['"per-key";r=5999;t=60']},
    },
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWW-Authenticate": {
        "description": "the authentication scheme expected: `Bearer`",
        "required": True,
        "schema": {"type": "string"},
    },
}
# On a secured operation's 400: absent when the key came in the query string (`key_in_query`), refused unread.
OPTIONAL_QUOTA = {"RateLimit-Policy", "RateLimit"}


def _header(name: str, required: bool = True) -> dict[str, Any]:
    if required:
        return {"$ref": f"#/components/headers/{name}"}
    return {**HEADERS[name], "required": False}


def _declare_headers(status: str, response: dict[str, Any], secured: bool) -> None:
    """The cross-cutting headers this answer carries: the request id on every one; the quota on every answer to a
    keyed request (not a 401, which has no key, and on a 400 only when the key was read); Retry-After on 429 and
    503; WWW-Authenticate on 401."""
    headers = response.setdefault("headers", {})
    headers["X-Request-ID"] = _header("X-Request-ID")
    if secured and status != "401":
        for name in ("RateLimit-Policy", "RateLimit"):
            headers[name] = _header(name, required=status != "400")
    if status in ("429", "503"):
        headers["Retry-After"] = _header("Retry-After")
    if status == "401":
        headers["WWW-Authenticate"] = _header("WWW-Authenticate")


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": TITLES[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def problem_statuses(path: str, method: str, secured: bool, has_body: bool = False) -> list[int]:
    statuses = []
    if has_body:
        statuses.append(415)  # a body under another media type than the operation's
    if path.startswith("/v1"):
        # The operational routes (/livez, /readyz, /metrics) take no parameter and no body: nothing to refuse.
        statuses += [400, 422, 404, 503, 504]
    if secured:
        statuses += [401, 403, 429]
    if method in WRITE_METHODS:
        statuses += [409, 413]
    return sorted(statuses)


def _declare_idempotency(operation: dict[str, Any]) -> None:
    """On an operation that takes the Idempotency-Key header (`idempotency.IdempotencyKey`): the header's schema as
    `idempotent` accepts it (FastAPI's reads "string or null"; the length is checked there, a 400, not a schema
    422), and `Idempotent-Replayed` on every answer a replay can give."""
    keys = [
        p for p in operation.get("parameters", []) if p.get("in") == "header" and p.get("name") == idempotency.HEADER
    ]
    if not keys:
        return
    for parameter in keys:
        parameter.setdefault("description", parameter["schema"].get("description", ""))
        parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 255}
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            response.setdefault("headers", {})[idempotency.REPLAYED_HEADER] = IDEMPOTENT_REPLAYED_HEADER


def _uses(dependant: Dependant, call: object) -> bool:
    return dependant.call is call or any(_uses(d, call) for d in dependant.dependencies)


def any_scope_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the operations that admit a key holding any one of their scopes (`authenticate_any`)."""
    # Through FastAPI's route contexts: it keeps included routers wrapped in `app.routes` (0.165), where a plain
    # `isinstance(route, APIRoute)` finds none of the API's operations.
    return {
        (context.path_format, method.lower())
        for context in iter_route_contexts(app.routes)
        if context.path_format is not None
        and isinstance(route := context.original_route, APIRoute)
        and _uses(route.dependant, authenticate_any)
        for method in context.methods or ()
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            webhooks=app.webhooks.routes,
            openapi_version=app.openapi_version,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for body in DOCUMENTED_BODIES:
            for model in (body.model, body.row_model):
                documented = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(documented.pop("$defs", {}))
                components[model.__name__] = documented
            rows = components[body.model.__name__]["properties"][body.rows_field]
            rows |= {"items": {"$ref": f"#/components/schemas/{body.row_model.__name__}"}, "minItems": 1}
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        schema["components"]["headers"] = HEADERS
        any_scope = any_scope_operations(app)
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if (path, method) in any_scope:
                    # Alternatives, not one requirement holding every scope: OpenAPI ORs the list's entries.
                    operation["security"] = [
                        {scheme: [scope]}
                        for requirement in operation["security"]
                        for scheme, scopes in requirement.items()
                        for scope in scopes
                    ]
                responses = operation.setdefault("responses", {})
                statuses = problem_statuses(path, method, "security" in operation, "requestBody" in operation)
                for status in statuses:
                    # A route's own description of the status says when it answers it (FastAPI's generic 422
                    # "Validation Error" aside); the problem schema is the same for all.
                    own = responses.get(str(status), {}).get("description")
                    problem = _problem(status)
                    if own and own != FASTAPI_422_DESCRIPTION:
                        problem["description"] = own
                    responses[str(status)] = problem
                for status, response in responses.items():
                    # Errors a route declares itself (415, say) are problems like the others.
                    if status.isdigit() and int(status) in TITLES and "content" not in response:
                        response["content"] = _problem(int(status))["content"]
                for status, response in responses.items():
                    _declare_headers(status, response, "security" in operation)
                _declare_idempotency(operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
