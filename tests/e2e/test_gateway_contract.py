"""Errors, auth, idempotency and correlation at the REST gateway (API.md "Common rules")."""

from __future__ import annotations

import ast
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from services.common.db import transaction
from services.gateway import store
from services.gateway.domain.keys import key_hash, new_key
from services.platform import Platform
from tests.e2e.conftest import issue_key
from tests.e2e.helpers import create_zone, unique_zone_code

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


def test_invalid_zone_body_gets_422_problem_naming_fields_and_writes_nothing(api: httpx.Client) -> None:
    zone = unique_zone_code("V")

    reply = api.put(f"/v1/zones/{zone}", json={"name": "", "county_code": "32070", "parks": ["ok", ""]})

    assert reply.status_code == 422
    assert reply.headers["content-type"] == PROBLEM
    problem = reply.json()
    assert problem["status"] == 422 and problem["type"].endswith("validation_failed")
    locations = {tuple(e["location"]) for e in problem["errors"]}
    assert {("body", "name"), ("body", "county_code"), ("body", "parks", 1)} <= locations
    assert api.get(f"/v1/zones/{zone}").status_code == 404


def test_zone_in_unknown_county_is_422_at_body_county_code_and_writes_nothing(api: httpx.Client) -> None:
    zone = unique_zone_code("V")

    reply = api.put(f"/v1/zones/{zone}", json={"name": "某高新区", "county_code": "999999"})

    assert reply.status_code == 422
    assert reply.json()["errors"] == [
        {"location": ["body", "county_code"], "message": "unknown county; PUT /v1/counties/{code} first"}
    ]
    assert api.get(f"/v1/zones/{zone}").status_code == 404


def test_recognition_with_bad_level_or_date_is_422_and_records_nothing(api: httpx.Client) -> None:
    zone = unique_zone_code("V")
    create_zone(api, zone)

    bad_level = api.post(f"/v1/zones/{zone}/recognitions", json={"level": "city", "recognized_on": "2022-01-01"})
    bad_date = api.post(f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2022-02-30"})
    future = api.post(f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2999-01-01"})

    assert [r.status_code for r in (bad_level, bad_date, future)] == [422, 422, 422]
    assert bad_level.json()["errors"][0]["location"] == ["body", "level"]
    assert bad_date.json()["errors"][0]["location"] == ["body", "recognized_on"]
    assert future.json()["errors"][0]["location"] == ["body", "recognized_on"]
    assert api.get(f"/v1/zones/{zone}").json()["recognitions"] == []


def test_recognition_of_unknown_zone_is_404_problem(api: httpx.Client) -> None:
    reply = api.post("/v1/zones/NOPE-404/recognitions", json={"level": "national", "recognized_on": "2022-01-01"})

    assert reply.status_code == 404
    assert reply.headers["content-type"] == PROBLEM
    assert "NOPE-404" in reply.json()["detail"]


def test_two_levels_on_one_day_is_409(api: httpx.Client) -> None:
    zone = unique_zone_code("C")
    create_zone(api, zone)
    api.post(f"/v1/zones/{zone}/recognitions", json={"level": "provincial", "recognized_on": "2022-01-01"})

    reply = api.post(f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2022-01-01"})

    assert reply.status_code == 409
    assert reply.headers["content-type"] == PROBLEM


def test_unparseable_json_is_400_problem(api: httpx.Client) -> None:
    reply = api.put("/v1/zones/X-1", content=b"{not json", headers={"Content-Type": "application/json"})

    assert reply.status_code == 400
    assert reply.headers["content-type"] == PROBLEM


def test_unknown_route_and_wrong_method_are_problems(api: httpx.Client) -> None:
    missing = api.get("/v1/nothing-here")
    wrong = api.delete("/v1/zones")

    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert missing.headers["content-type"] == wrong.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/v1/zones/", "/v1/keys/", "/v1/zones/LYG-HTZ/"])
def test_a_trailing_slash_is_a_404_problem_not_a_redirect(api: httpx.Client, method: str, path: str) -> None:
    reply = api.request(method, path, json={"name": "x", "scopes": ["read"]} if method == "POST" else None)
    anonymous = httpx.request(method, f"{api.base_url}{path}")

    assert reply.status_code == 404 and reply.headers["content-type"] == PROBLEM
    assert reply.json()["code"] == "not_found" and "location" not in reply.headers
    assert anonymous.status_code == 401 and "location" not in anonymous.headers


def allowed(reply: httpx.Response) -> set[str]:
    return {m.strip() for m in reply.headers["allow"].split(",") if m.strip()}


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("DELETE", "/v1/zones/X", {"GET", "HEAD", "PUT"}),
        ("POST", "/v1/zones", {"GET", "HEAD"}),
        ("PATCH", "/v1/indicator-values:batch", {"POST"}),
        ("DELETE", "/v1/keys", {"GET", "HEAD", "POST"}),
        ("PUT", "/v1/keys/k_1", {"DELETE"}),
        ("DELETE", "/v1/evaluations/2023/rankings/provincial", {"GET", "HEAD", "PUT"}),
        ("POST", "/v1/webhooks/wh_0/deliveries", {"GET", "HEAD"}),
        ("POST", "/openapi.json", {"GET", "HEAD"}),
        ("HEAD", "/v1/indicator-values:batch", {"POST"}),
    ],
)
def test_wrong_method_is_405_naming_every_method_of_the_path(
    api: httpx.Client, method: str, path: str, methods: set[str]
) -> None:
    reply = api.request(method, path)

    assert reply.status_code == 405
    assert allowed(reply) == methods


def test_head_is_a_get_without_its_content(api: httpx.Client) -> None:
    got = api.get("/v1/zones", params={"page_size": 2})
    head = api.head("/v1/zones", params={"page_size": 2})
    missing = api.head("/v1/zones/NO-SUCH-ZONE")

    assert (got.status_code, head.status_code, missing.status_code) == (200, 200, 404)
    assert head.content == b"" and missing.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["x-request-id"] and head.headers["x-request-id"] != got.headers["x-request-id"]


def test_every_documented_path_answers_405_with_its_documented_methods(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    for template, operations in document["paths"].items():
        # A webhook id only matches its own shape (a path convertor keeps `…/{webhook_id}:enable` apart).
        path = re.sub(r"\{[^}]+\}", "1", template.replace("{webhook_id}", "wh_" + "0" * 24))
        documented = {m.upper() for m in operations if m in {"get", "put", "post", "delete", "patch"}}

        reply = api.patch(path)

        assert reply.status_code == 405, template
        assert reply.headers["content-type"] == PROBLEM
        assert documented <= allowed(reply) and "PATCH" not in allowed(reply), template


def test_missing_or_unknown_key_is_401_and_key_without_scope_is_403(platform: Platform) -> None:
    key_id, read_only = new_key()
    engine = create_engine(platform.settings.database_url("gateway"))
    with transaction(engine) as conn:
        store.add_key(conn, key_id, key_hash(read_only), "read only", ["read"])
    engine.dispose()
    url = f"{platform.gateway_url}/v1/zones/{unique_zone_code()}"
    body = {"name": "某高新区", "county_code": "320706"}

    none = httpx.put(url, json=body)
    unknown = httpx.put(url, json=body, headers={"Authorization": f"Bearer gx_{secrets.token_hex(20)}"})
    reader = httpx.put(url, json=body, headers={"Authorization": f"Bearer {read_only}"})
    reader_get = httpx.get(f"{platform.gateway_url}/v1/awards", headers={"Authorization": f"Bearer {read_only}"})

    assert (none.status_code, unknown.status_code, reader.status_code) == (401, 401, 403)
    assert none.headers["content-type"] == PROBLEM and reader.headers["content-type"] == PROBLEM
    assert reader_get.status_code == 200


def test_idempotency_key_replays_first_response_and_refuses_other_body(api: httpx.Client) -> None:
    zone = unique_zone_code("I")
    create_zone(api, zone)
    key = {"Idempotency-Key": f"rec-{zone}"}
    body = {"level": "provincial", "recognized_on": "2022-03-03"}

    first = api.post(f"/v1/zones/{zone}/recognitions", json=body, headers=key)
    replay = api.post(f"/v1/zones/{zone}/recognitions", json=body, headers=key)
    other = api.post(f"/v1/zones/{zone}/recognitions", json={**body, "recognized_on": "2022-03-04"}, headers=key)

    assert first.status_code == 201
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_mismatch"
    assert [r["recognized_on"] for r in api.get(f"/v1/zones/{zone}").json()["recognitions"]] == ["2022-03-03"]
    # The same content re-serialised (keys reordered, other whitespace) is the same request: replayed.
    reordered = b'{ "recognized_on" : "2022-03-03",\n  "level" : "provincial" }'
    again = api.post(
        f"/v1/zones/{zone}/recognitions",
        content=reordered,
        headers={**key, "Content-Type": "application/json"},
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_idempotency_key_outside_1_to_255_characters_is_400_and_changes_nothing(api: httpx.Client, key: str) -> None:
    zone = unique_zone_code("IK")
    create_zone(api, zone)

    refused = api.post(
        f"/v1/zones/{zone}/recognitions",
        json={"level": "provincial", "recognized_on": "2022-03-03"},
        headers={"Idempotency-Key": key},
    )

    assert (refused.status_code, refused.json()["code"]) == (400, "bad_idempotency_key")
    assert api.get(f"/v1/zones/{zone}").json()["recognitions"] == []


ROUTES = Path(__file__).parents[2] / "services" / "gateway" / "routes"


Function = ast.FunctionDef | ast.AsyncFunctionDef


def calls_idempotent(function: Function, functions: dict[str, Function], seen: set[str]) -> bool:
    names = {
        node.func.id for node in ast.walk(function) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    if "idempotent" in names:
        return True
    return any(calls_idempotent(functions[n], functions, seen | {n}) for n in names - seen if n in functions)


def routes_calling_idempotent() -> set[tuple[str, str]]:
    """(METHOD, path) of every route whose handler calls `idempotent(...)`, directly or through functions of its
    module it calls (the talent checks' `_check`), read from the route modules' source: independently of how the
    gateway finds them for its document."""
    found: set[tuple[str, str]] = set()
    for module in ROUTES.glob("*.py"):
        tree = ast.parse(module.read_text())
        functions: dict[str, Function] = {n.name: n for n in tree.body if isinstance(n, Function)}
        prefix = next(
            (
                keyword.value.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "APIRouter"
                for keyword in node.keywords
                if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant)
                if isinstance(keyword.value.value, str)
            ),
            "",
        )

        for function in functions.values():
            for decorator in function.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr in {"get", "put", "post", "patch", "delete"}
                    and calls_idempotent(function, functions, {function.name})
                ):
                    path = decorator.args[0]
                    assert isinstance(path, ast.Constant) and isinstance(path.value, str), function.name
                    found.add((decorator.func.attr.upper(), f"{prefix}{path.value}"))
    return found


def test_the_operations_declaring_idempotency_key_are_exactly_the_routes_that_honour_it(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    declaring = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation.get("parameters", []))
    }

    calling = routes_calling_idempotent()
    assert declaring == calling
    assert {("PUT", "/v1/zones/{zone_code}"), ("POST", "/v1/talent/r-visa:check")} <= calling  # the scan sees both
    for method, path in declaring:
        operation = spec["paths"][path][method.lower()]
        [parameter] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert (parameter["required"], parameter["schema"]["maxLength"]) == (False, 255)
        for status, response in operation["responses"].items():
            replayable = status.startswith("2")  # a refusal is never stored, so never replayed
            assert ("Idempotent-Replayed" in response.get("headers", {})) == replayable, (method, path, status)


def test_an_operation_declaring_idempotency_key_replays_and_one_not_declaring_it_does_not(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    county = f"{secrets.randbelow(900_000) + 100_000}"
    key = {"Idempotency-Key": f"county-{county}-{secrets.token_hex(4)}"}

    first = api.put(f"/v1/counties/{county}", json={"name": "幂等区"}, headers=key)
    replay = api.put(f"/v1/counties/{county}", json={"name": "幂等区"}, headers=key)
    other = api.put(f"/v1/counties/{county}", json={"name": "别的区"}, headers=key)
    simulated = [api.post("/v1/awards:simulate", json={}, headers=key) for _ in range(2)]

    declared = spec["paths"]["/v1/counties/{county_code}"]["put"]
    assert "Idempotent-Replayed" in declared["responses"][str(first.status_code)]["headers"]
    assert (replay.status_code, replay.json(), replay.headers["idempotent-replayed"]) == (
        first.status_code,
        first.json(),
        "true",
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_mismatch")
    simulate = spec["paths"]["/v1/awards:simulate"]["post"]
    assert all(p["name"] != "Idempotency-Key" for p in simulate.get("parameters", []))
    assert [(r.status_code, "idempotent-replayed" in r.headers) for r in simulated] == [(200, False), (200, False)]


def test_problems_a_route_declares_itself_are_documented_as_problem_json(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    unsupported = spec["paths"]["/v1/indicator-values:batch"]["post"]["responses"]["415"]
    reply = api.post("/v1/indicator-values:batch", content=b"<values/>", headers={"Content-Type": "application/xml"})

    assert reply.status_code == 415 and reply.headers["content-type"] == PROBLEM
    assert unsupported["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert unsupported["description"] == "neither application/json nor UTF-8 text/csv"  # the route's own words
    assert spec["paths"]["/v1/zones"]["get"]["responses"]["422"]["description"] == "Unprocessable content"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response.get("content", {})) == [PROBLEM], (method, path, status)


def test_failed_validation_stores_no_idempotency_record(api: httpx.Client) -> None:
    zone = unique_zone_code("I")
    create_zone(api, zone)
    key = {"Idempotency-Key": f"fix-{zone}"}

    bad = api.post(f"/v1/zones/{zone}/recognitions", json={"level": "x", "recognized_on": "2022-03-03"}, headers=key)
    good = api.post(
        f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2015-03-03"}, headers=key
    )

    assert bad.status_code == 422
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers


def test_request_id_is_echoed_or_generated(api: httpx.Client) -> None:
    echoed = api.get("/livez", headers={"X-Request-ID": "portal-123"})
    generated = api.get("/livez")

    assert echoed.headers["x-request-id"] == "portal-123"
    assert len(generated.headers["x-request-id"]) == 32


@pytest.mark.parametrize("offered", ["portal 123", 'a"b', "x" * 129, "trace\tid", "门户-1"])
def test_request_id_outside_the_safe_alphabet_is_replaced_not_echoed(api: httpx.Client, offered: str) -> None:
    # README: only ids matching ^[A-Za-z0-9._:-]{1,128}$ are echoed, so no client text reaches a log line.
    reply = api.get("/livez", headers={"X-Request-ID": offered.encode()})

    assert reply.headers["x-request-id"] != offered
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["x-request-id"])


def test_chinese_names_round_trip_unchanged(api: httpx.Client) -> None:
    zone = unique_zone_code("U")
    create_zone(api, zone)
    name = "连云港高新技术产业开发区（测试）·园区"

    api.put(f"/v1/zones/{zone}", json={"name": name, "county_code": "320706", "parks": ["云台山片区"]})
    reply = api.get(f"/v1/zones/{zone}")

    assert reply.json()["name"] == name and reply.json()["parks"] == ["云台山片区"]
    assert name.encode() in reply.content  # UTF-8 on the wire, not \\u escapes

    # Unchanged means unchanged: surrounding spaces (an ideographic one too) stay; only a blank name is refused.
    spaced = "  前后空格\u3000"
    assert api.put(f"/v1/zones/{zone}", json={"name": spaced, "county_code": "320706"}).status_code == 200
    assert api.get(f"/v1/zones/{zone}").json()["name"] == spaced
    blank = api.put(f"/v1/zones/{zone}", json={"name": " \u3000 ", "county_code": "320706"})
    assert blank.status_code == 422
    assert [e["location"] for e in blank.json()["errors"]] == [["body", "name"]]
    assert api.get(f"/v1/zones/{zone}").json()["name"] == spaced


def test_zone_update_without_parks_keeps_them_and_an_empty_list_clears_them(api: httpx.Client) -> None:
    zone = unique_zone_code("K")
    created = api.put(f"/v1/zones/{zone}", json={"name": "甲", "county_code": "320706", "parks": ["东片区", "西片区"]})
    renamed = api.put(f"/v1/zones/{zone}", json={"name": "乙", "county_code": "320706"})

    assert (created.status_code, renamed.status_code) == (201, 200)
    assert (renamed.json()["name"], renamed.json()["parks"]) == ("乙", ["东片区", "西片区"])
    cleared = api.put(f"/v1/zones/{zone}", json={"name": "乙", "county_code": "320706", "parks": []})
    assert cleared.json()["parks"] == [] and api.get(f"/v1/zones/{zone}").json()["parks"] == []
    fresh = unique_zone_code("K")
    assert api.put(f"/v1/zones/{fresh}", json={"name": "丙", "county_code": "320706"}).json()["parks"] == []


def test_zone_level_is_latest_recognition_on_or_before_as_of(api: httpx.Client) -> None:
    zone = unique_zone_code("L")
    create_zone(api, zone)
    api.post(f"/v1/zones/{zone}/recognitions", json={"level": "provincial", "recognized_on": "1997-06-01"})
    api.post(f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2015-02-16"})

    def level(on: str) -> str | None:
        level: str | None = api.get(f"/v1/zones/{zone}", params={"as_of": on}).json()["level"]
        return level

    assert [level("1997-05-31"), level("1997-06-01"), level("2015-02-15"), level("2015-02-16")] == [
        None,
        "provincial",
        "provincial",
        "national",
    ]


def test_zone_list_pages_with_tokens(api: httpx.Client) -> None:
    for _ in range(3):
        create_zone(api, unique_zone_code("P"))

    first = api.get("/v1/zones", params={"page_size": 2}).json()
    second = api.get("/v1/zones", params={"page_size": 2, "page_token": first["next_page_token"]}).json()

    assert len(first["items"]) == 2 and first["next_page_token"]
    assert not {z["zone_code"] for z in first["items"]} & {z["zone_code"] for z in second["items"]}


def walk_pages(api: httpx.Client, path: str, page_size: int) -> tuple[list[dict[str, object]], int]:
    """Every item of a list, following its tokens from the first page to the null one; and how many pages."""
    items, token, pages = [], None, 0
    while True:
        reply = api.get(path, params={"page_size": page_size, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        page = reply.json()
        assert len(page["items"]) <= page_size
        items += page["items"]
        pages, token = pages + 1, page["next_page_token"]
        if token is None:
            return items, pages


def test_indicator_catalogue_pages_like_every_list(api: httpx.Client) -> None:
    everything = api.get("/v1/indicators").json()
    codes = [i["code"] for i in everything["items"]]
    assert everything["next_page_token"] is None and len(codes) == len(set(codes)) >= 3

    walked, pages = walk_pages(api, "/v1/indicators", 2)

    assert [i["code"] for i in walked] == codes  # each once, in catalogue order
    assert pages == (len(codes) + 1) // 2
    assert api.get("/v1/indicators", params={"page_size": 5000}).json()["items"] == everything["items"]  # capped
    assert api.get("/v1/indicators", params={"page_size": 0}).status_code == 422


@pytest.mark.parametrize(
    ("path", "ident", "body"),
    [
        ("/v1/keys", "key_id", {"name": "paging", "scopes": ["read"]}),
        ("/v1/webhooks", "webhook_id", {"url": "http://127.0.0.1:9/hook", "events": ["talent.decision_recorded"]}),
    ],
)
def test_keys_and_webhooks_page_with_tokens_oldest_first_without_repeats(
    api: httpx.Client, path: str, ident: str, body: dict[str, object]
) -> None:
    created = []
    for _ in range(3):
        reply = api.post(path, json=body)
        assert reply.status_code == 201, reply.text
        created.append(reply.json()[ident])
    everything = api.get(path, params={"page_size": 1000}).json()
    assert everything["next_page_token"] is None and len(everything["items"]) >= 3

    walked, token, pages = [], None, 0
    while True:
        reply = api.get(path, params={"page_size": 2, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        walked += [item[ident] for item in reply.json()["items"]]
        pages, token = pages + 1, reply.json()["next_page_token"]
        if token is None:
            break

    assert walked == [item[ident] for item in everything["items"]]
    assert pages == (len(walked) + 1) // 2
    times = [item["created_at"] for item in everything["items"]]
    assert times == sorted(times) and created == [i for i in walked if i in created]
    for each in created:  # disabled, revoked: nothing else is to deliver to them or use them
        assert api.delete(f"{path}/{each}").status_code == 200


def test_every_list_refuses_a_bad_page_token_at_its_query_location(api: httpx.Client) -> None:
    # Found from /openapi.json, so a list added later is checked too.
    spec = api.get("/openapi.json").json()
    lists = [
        path
        for path, operations in spec["paths"].items()
        if any(
            p["name"] == "page_token" and p["in"] == "query" for p in operations.get("get", {}).get("parameters", [])
        )
    ]
    assert {
        "/v1/zones",
        "/v1/awards",
        "/v1/audit-log",
        "/v1/keys",
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}/deliveries",
        "/v1/indicators",
        "/v1/zones/{zone_code}/ranks",
    } <= set(lists)
    webhook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["talent.decision_recorded"]})
    assert webhook.status_code == 201, webhook.text
    webhook_id = api.delete(f"/v1/webhooks/{webhook.json()['webhook_id']}").json()["webhook_id"]  # kept, disabled
    zone = unique_zone_code("T")
    create_zone(api, zone)
    filled = {"{webhook_id}": webhook_id, "{zone_code}": zone}

    for template in lists:
        path = template
        for parameter, value in filled.items():
            path = path.replace(parameter, value)
        assert "{" not in path, f"{template}: fill its path parameters here"
        # Unsigned base64 JSON, as tokens were before they were sealed: [1], true, "x", 10^23.
        for token in ("garbage", "WzFd", "dHJ1ZQ", "Ingi", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"):
            reply = api.get(path, params={"page_token": token})
            assert reply.status_code == 422, (path, token, reply.text)
            assert reply.headers["content-type"] == PROBLEM
            assert [e["location"] for e in reply.json()["errors"]] == [["query", "page_token"]], (path, token)


def test_readyz_metrics_and_openapi(api: httpx.Client, platform: Platform) -> None:
    assert api.get("/readyz").json()["checks"] == {
        "database": True,
        "nats": True,
        "indicators": True,
        "rewards": True,
        "talent": True,
    }
    gateway_metrics = api.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/readyz",status="200"}' in gateway_metrics
    service_metrics = httpx.get(f"http://127.0.0.1:{platform.settings.indicators_metrics_port}/metrics").text
    assert "grpc_server_handled_total" in service_metrics
    assert "gaoxin_outbox_backlog" in service_metrics
    assert 'gaoxin_build_info{service="indicators"' in service_metrics
    rewards_metrics = httpx.get(f"http://127.0.0.1:{platform.settings.rewards_metrics_port}/metrics").text
    assert 'gaoxin_consumer_pending{consumer="rewards-zone-recognized"}' in rewards_metrics
    spec = api.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {"/v1/zones/{zone_code}", "/v1/zones/{zone_code}/recognitions", "/v1/awards"} <= set(spec["paths"])


def declared_headers(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, bool]:
    """The headers the document declares on an answer, each with whether it is required ($refs resolved)."""
    headers = spec["paths"][path][method]["responses"][str(status)].get("headers", {})
    resolved = {
        name: spec["components"]["headers"][h["$ref"].rsplit("/", 1)[1]] if "$ref" in h else h
        for name, h in headers.items()
    }
    return {name: bool(header.get("required")) for name, header in resolved.items()}


def test_openapi_declares_the_cross_cutting_headers_on_the_answers_that_carry_them(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    quota = {"RateLimit-Policy", "RateLimit"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            secured = "security" in operation
            for status in operation["responses"]:
                headers = declared_headers(spec, path, method, int(status))
                assert headers["X-Request-ID"] is True, (path, method, status)
                if secured and status != "401":
                    # A 400 may be the refusal of a key sent in the query string, which is never read.
                    assert {h: headers.get(h) for h in quota} == dict.fromkeys(quota, status != "400"), (path, status)
                else:
                    assert not quota & set(headers), (path, method, status)
                assert headers.get("Retry-After") is (True if status in ("429", "503") else None), (path, status)
                assert headers.get("WWW-Authenticate") is (True if status == "401" else None), (path, status)
    assert spec["paths"]["/readyz"]["get"]["responses"]["503"]["headers"]["Retry-After"]


def test_answers_carry_the_headers_the_openapi_document_declares_required(
    api: httpx.Client, platform: Platform
) -> None:
    spec = api.get("/openapi.json").json()
    limited = {"Authorization": f"Bearer {issue_key(platform, 'read', rate_limit=1)}"}
    answers = [
        ("/v1/zones", "get", api.get("/v1/zones")),
        ("/v1/zones/{zone_code}", "get", api.get("/v1/zones/NO-SUCH-ZONE")),
        ("/v1/zones/{zone_code}", "put", api.put("/v1/zones/X-1", content=b"{", headers=JSON)),
        ("/v1/zones/{zone_code}", "put", httpx.put(f"{platform.gateway_url}/v1/zones/X-1", json={})),
        ("/v1/zones", "get", httpx.get(f"{platform.gateway_url}/v1/zones", headers=limited)),
        ("/v1/zones", "get", httpx.get(f"{platform.gateway_url}/v1/zones", headers=limited)),
        ("/readyz", "get", api.get("/readyz")),
    ]

    assert [reply.status_code for *_, reply in answers] == [200, 404, 400, 401, 200, 429, 200]
    for path, method, reply in answers:
        required = [h for h, needed in declared_headers(spec, path, method, reply.status_code).items() if needed]
        assert [h for h in required if h.lower() not in reply.headers] == [], (path, reply.status_code)
        assert len(required) >= 1


def test_an_operation_any_of_whose_scopes_admits_a_key_declares_them_as_alternatives(api: httpx.Client) -> None:
    # OpenAPI ORs the entries of `security` and ANDs the scopes within one: ["read", "talent:check"] in one entry
    # would say a key needs both.
    spec = api.get("/openapi.json").json()
    for path in ("/v1/talent/rules", "/v1/talent/decisions/{decision_id}"):
        assert spec["paths"][path]["get"]["security"] == [{"HTTPBearer": ["read"]}, {"HTTPBearer": ["talent:check"]}]
