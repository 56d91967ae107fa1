"""What the gateway refuses before it reads a body: bodies past GAOXIN_MAX_BODY_BYTES however they are framed,
and callers without a valid key."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from services.platform import Platform, isolated_settings
from tests.e2e.conftest import issue_key

PROBLEM = "application/problem+json"
LIMIT = 2000


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform of its own: the session's keeps the default limit (64 MiB), too large to cross cheaply."""
    with Platform(isolated_settings(tmp_path_factory.mktemp("small-limit"), max_body_bytes=LIMIT)) as running:
        yield running


def chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """A generator body: httpx sends it with `Transfer-Encoding: chunked` and no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def key_request(size: int) -> bytes:
    """A valid `POST /v1/keys` body of exactly `size` bytes (JSON padded with spaces)."""
    body = json.dumps({"name": "chunked", "scopes": ["read"]}).encode()
    return body + b" " * (size - len(body))


def raw_exchange(platform: Platform, head: str, body: bytes = b"") -> str:
    """Send a request head and part of a body, never the rest; the status line and headers the gateway answers."""
    with socket.create_connection(("127.0.0.1", platform.settings.gateway_port), timeout=5) as conn:
        conn.sendall(head.encode() + body)
        return conn.recv(65536).decode("latin-1")


def test_chunked_body_past_the_limit_is_413_problem(small_limit: Platform) -> None:
    headers = {"Authorization": f"Bearer {small_limit.admin_key}", "Content-Type": "application/json"}

    reply = httpx.post(
        f"{small_limit.gateway_url}/v1/keys", content=chunks(b"x" * 3_000_000), headers=headers, timeout=30
    )

    assert "content-length" not in reply.request.headers
    assert reply.status_code == 413 and reply.headers["content-type"] == PROBLEM
    assert reply.json()["code"] == "body_too_large" and reply.headers["x-request-id"]


def test_chunked_body_at_the_limit_is_served_and_one_byte_more_is_413(small_limit: Platform) -> None:
    headers = {"Authorization": f"Bearer {small_limit.admin_key}", "Content-Type": "application/json"}
    url = f"{small_limit.gateway_url}/v1/keys"

    at_limit = httpx.post(url, content=chunks(key_request(LIMIT)), headers=headers)
    declared = httpx.post(url, content=key_request(LIMIT), headers=headers)
    past_it = httpx.post(url, content=chunks(key_request(LIMIT + 1)), headers=headers)

    assert (at_limit.status_code, declared.status_code) == (201, 201), at_limit.text
    assert at_limit.json()["scopes"] == ["read"]
    assert past_it.status_code == 413 and past_it.json()["code"] == "body_too_large"


def test_chunked_body_is_refused_once_past_the_limit_not_at_its_end(small_limit: Platform) -> None:
    # The last chunk is never sent: the gateway must answer from what it has read, not wait for (and buffer) more.
    head = (
        "POST /v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {small_limit.admin_key}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * (LIMIT + 1)

    answer = raw_exchange(small_limit, head, f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")

    assert answer.startswith("HTTP/1.1 413 ")
    assert "content-type: application/problem+json" in answer.lower()


@pytest.mark.parametrize(
    ("headers", "query", "status", "code"),
    [
        ({}, "", 401, "unauthenticated"),
        ({"Authorization": "Bearer gx_bad_bad"}, "", 401, "unauthenticated"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "", 401, "unauthenticated"),
        ({}, "?api_key=gx_bad_bad", 400, "key_in_query"),
    ],
)
def test_caller_without_a_valid_key_is_refused_before_its_body_is_parsed(
    platform: Platform, headers: dict[str, str], query: str, status: int, code: str
) -> None:
    reply = httpx.post(
        f"{platform.gateway_url}/v1/keys{query}",
        content=b"notjson",
        headers={"Content-Type": "application/json", **headers},
    )

    assert reply.status_code == status and reply.headers["content-type"] == PROBLEM
    assert reply.json()["code"] == code
    if status == 401:
        assert reply.headers["www-authenticate"] == "Bearer"


def test_caller_without_a_key_is_refused_without_waiting_for_the_body(platform: Platform) -> None:
    # Content-Length announces a body that never comes: the answer must not depend on reading it.
    head = (
        "PUT /v1/zones/NOKEY-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )

    answer = raw_exchange(platform, head)

    assert answer.startswith("HTTP/1.1 401 ")
    assert "www-authenticate: bearer" in answer.lower()


@pytest.mark.parametrize(("scope", "status"), [(None, 401), ("read", 403), ("data:write", 413)])
def test_a_body_over_the_limit_is_413_only_to_a_caller_entitled_to_an_answer(
    platform: Platform, scope: str | None, status: int
) -> None:
    key = f"Authorization: Bearer {issue_key(platform, scope)}\r\n" if scope else ""
    head = (
        f"PUT /v1/zones/BIG-2 HTTP/1.1\r\nHost: 127.0.0.1\r\n{key}Content-Type: application/json\r\n"
        f"Content-Length: {platform.settings.max_body_bytes + 1}\r\n\r\n"
    )

    answer = raw_exchange(platform, head)

    assert answer.startswith(f"HTTP/1.1 {status} ")
    assert ("ratelimit: " in answer.lower()) is (scope is not None)


def test_revoked_key_is_refused_before_its_body_is_parsed(api: httpx.Client, platform: Platform) -> None:
    created = api.post("/v1/keys", json={"name": "soon revoked", "scopes": ["admin"]}).json()
    api.delete(f"/v1/keys/{created['key_id']}")

    reply = httpx.post(
        f"{platform.gateway_url}/v1/keys",
        content=b"notjson",
        headers={"Authorization": f"Bearer {created['key']}", "Content-Type": "application/json"},
    )

    assert reply.status_code == 401 and reply.json()["code"] == "unauthenticated"


def test_a_valid_key_still_reaches_the_body_checks_404_and_405(api: httpx.Client) -> None:
    malformed = api.post("/v1/keys", content=b"notjson", headers={"Content-Type": "application/json"})
    missing = api.get("/v1/nothing-here")
    wrong = api.delete("/v1/keys")

    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_body"
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD, POST"


def test_operational_routes_and_the_docs_need_no_key(platform: Platform) -> None:
    for path in ("/livez", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        assert httpx.get(f"{platform.gateway_url}{path}").status_code == 200, path


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Content-Type": "text/plain"}, "Content-Type text/plain"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "Content-Type application/x-www-form-urlencoded"),
        ({}, "no Content-Type"),
    ],
)
def test_a_json_object_sent_under_another_media_type_is_415_naming_it(
    api: httpx.Client, headers: dict[str, str], named: str
) -> None:
    body = json.dumps({"name": "媒体类型", "scopes": ["read"]}).encode()
    request = api.build_request("POST", "/v1/keys", content=body, headers=headers)
    if not headers:
        request.headers.pop("Content-Type", None)  # httpx adds none for raw content: make sure
    refused = api.send(request)
    keys_after = api.get("/v1/keys").json()["items"]

    assert refused.status_code == 415
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "unsupported_media_type"
    assert named in refused.json()["detail"] and "application/json" in refused.json()["detail"]
    assert all(k["name"] != "媒体类型" for k in keys_after)


def test_json_with_a_charset_or_a_json_suffix_is_still_json(api: httpx.Client) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        body = json.dumps({"name": f"suffix {content_type[:20]}", "scopes": ["read"]}).encode()
        created = api.post("/v1/keys", content=body, headers={"Content-Type": content_type})
        assert created.status_code == 201, created.text
