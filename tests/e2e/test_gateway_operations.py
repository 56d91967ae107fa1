"""Keys, quotas, language, the policy registry and the audit log, through the REST gateway."""

from __future__ import annotations

import httpx

from services.platform import Platform
from tests.e2e.conftest import issue_key
from tests.e2e.helpers import assert_z_timestamps, create_zone, unique_zone_code

PROBLEM = "application/problem+json"


def test_created_key_works_with_its_scopes_is_listed_without_secret_and_stops_when_revoked(
    api: httpx.Client, platform: Platform
) -> None:
    created = api.post("/v1/keys", json={"name": "海州区门户", "scopes": ["read"]})
    assert created.status_code == 201
    body = created.json()
    key, key_id = body["key"], body["key_id"]
    assert key.startswith(f"gx_{key_id}_") and body["scopes"] == ["read"]
    reader = {"Authorization": f"Bearer {key}"}

    assert httpx.get(f"{platform.gateway_url}/v1/awards", headers=reader).status_code == 200
    listed = api.get("/v1/keys").json()["items"]
    assert next(k for k in listed if k["key_id"] == key_id)["name"] == "海州区门户"
    assert key not in api.get("/v1/keys").text
    assert api.delete(f"/v1/keys/{key_id}").json()["revoked_at"] is not None

    after = httpx.get(f"{platform.gateway_url}/v1/awards", headers=reader)
    assert after.status_code == 401 and after.headers["content-type"] == PROBLEM


def test_key_timestamps_read_the_same_from_create_list_and_revoke(api: httpx.Client) -> None:
    created = api.post("/v1/keys", json={"name": "时间格式", "scopes": ["read"]}).json()
    listed = next(k for k in api.get("/v1/keys").json()["items"] if k["key_id"] == created["key_id"])
    revoked = api.delete(f"/v1/keys/{created['key_id']}").json()
    listed_revoked = next(k for k in api.get("/v1/keys").json()["items"] if k["key_id"] == created["key_id"])

    for document in (created, listed, revoked, listed_revoked):
        assert_z_timestamps(document)
    assert created["created_at"] == listed["created_at"] == revoked["created_at"]
    assert revoked["revoked_at"] == listed_revoked["revoked_at"]


def test_key_creation_needs_admin_and_valid_scopes(api: httpx.Client, platform: Platform) -> None:
    reader = {"Authorization": f"Bearer {issue_key(platform, 'read')}"}

    forbidden = httpx.post(f"{platform.gateway_url}/v1/keys", json={"name": "x", "scopes": ["read"]}, headers=reader)
    unknown_scope = api.post("/v1/keys", json={"name": "x", "scopes": ["root"]})

    assert forbidden.status_code == 403
    assert unknown_scope.status_code == 422 and unknown_scope.json()["errors"][0]["location"] == ["body", "scopes", 0]


def test_key_in_query_string_is_refused(platform: Platform) -> None:
    reply = httpx.get(f"{platform.gateway_url}/v1/awards", params={"api_key": platform.admin_key})
    assert reply.status_code == 400 and reply.json()["code"] == "key_in_query"


def test_quota_headers_on_every_response_and_429_with_retry_after_past_it(platform: Platform) -> None:
    headers = {"Authorization": f"Bearer {issue_key(platform, 'read', rate_limit=3)}"}

    replies = [httpx.get(f"{platform.gateway_url}/v1/zones", headers=headers) for _ in range(4)]

    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert replies[0].headers["ratelimit-policy"] == '"per-key";q=3;w=60'
    assert [r.headers["ratelimit"].split(";")[1] for r in replies] == ["r=2", "r=1", "r=0", "r=0"]
    assert replies[3].headers["content-type"] == PROBLEM and int(replies[3].headers["retry-after"]) > 0


def test_every_keyed_request_is_counted_once_whatever_its_answer(platform: Platform) -> None:
    headers = {"Authorization": f"Bearer {issue_key(platform, 'data:write', rate_limit=5)}"}
    url = platform.gateway_url

    replies = [
        httpx.put(
            f"{url}/v1/zones/QUOTA-1", content=b'{"name":', headers={**headers, "Content-Type": "application/json"}
        ),
        httpx.put(f"{url}/v1/zones/QUOTA-1", content=b"[]", headers={**headers, "Content-Type": "application/json"}),
        httpx.put(f"{url}/v1/zones/QUOTA-1", content=b"{}", headers={**headers, "Content-Type": "text/plain"}),
        httpx.get(f"{url}/v1/zones", headers=headers),  # lacks `read`
        httpx.get(f"{url}/v1/no-such-thing", headers=headers),
        httpx.put(
            f"{url}/v1/zones/QUOTA-1", content=b'{"name":', headers={**headers, "Content-Type": "application/json"}
        ),
    ]

    assert [r.status_code for r in replies] == [400, 422, 415, 403, 404, 429]
    assert [r.headers["ratelimit"].split(";")[1] for r in replies] == ["r=4", "r=3", "r=2", "r=1", "r=0", "r=0"]
    assert all(r.headers["ratelimit-policy"] == '"per-key";q=5;w=60' for r in replies)
    assert [("retry-after" in r.headers) for r in replies] == [False] * 5 + [True]


def test_chinese_problem_when_asked_in_accept_language(platform: Platform) -> None:
    zh = httpx.get(f"{platform.gateway_url}/v1/awards", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = httpx.get(f"{platform.gateway_url}/v1/awards")

    assert zh.status_code == en.status_code == 401
    assert zh.json()["title"] == "未认证" and zh.json()["detail"].startswith("请在 Authorization")
    assert en.json()["title"] == "Unauthorized"
    assert zh.json()["code"] == en.json()["code"] == "unauthenticated"


def test_policy_registry_lists_26_clauses_with_units_and_implementing_rules(api: httpx.Client) -> None:
    clauses = api.get("/v1/policy/clauses").json()
    clause_25 = api.get("/v1/policy/clauses/25").json()

    assert [c["number"] for c in clauses["items"]] == list(range(1, 27))
    assert clauses["document"]["number"] == "连政发〔2021〕25号"
    assert clause_25["label"] == "（二十五）" and clause_25["title"] == "健全争先创优机制"
    assert "市科技局" in clause_25["responsible_units"]
    assert {"reward.new_provincial_zone", "reward.rank_advance", "reward.pilot_county"} <= {
        r["rule"] for r in clause_25["rules"]
    }
    assert "—" not in clause_25["text"] and "责任单位" not in clause_25["text"]
    for unknown in (0, 27, -1):
        reply = api.get(f"/v1/policy/clauses/{unknown}")
        assert (reply.status_code, reply.json()["code"]) == (404, "not_found")
    assert reply.json()["detail"] == "clause -1 not found: the policy has clauses 1 to 26"
    assert api.get("/v1/policy/clauses/twelve").status_code == 422


def test_every_write_is_in_the_hash_chained_audit_log_without_bodies(api: httpx.Client, platform: Platform) -> None:
    zone = unique_zone_code("A")
    create_zone(api, zone)
    httpx.put(f"{platform.gateway_url}/v1/zones/{zone}", json={"name": "无密钥", "county_code": "320706"})

    entries = []
    token = None
    while True:
        page = api.get("/v1/audit-log", params={"page_size": 1000, **({"page_token": token} if token else {})}).json()
        entries += page["items"]
        token = page["next_page_token"]
        if not token:
            break
    mine = [e for e in entries if e["resource"] == f"/v1/zones/{zone}"]

    assert [(e["action"], e["outcome"]) for e in mine] == [
        ("PUT /v1/zones/{zone_code}", 201),
        ("PUT /v1/zones/{zone_code}", 401),
    ]
    assert mine[1]["key_id"] == "anonymous" and mine[0]["key_id"].startswith("boot-")
    assert all(len(e["request_id"]) > 0 for e in mine)
    assert_z_timestamps(mine)
    assert "无密钥" not in api.get("/v1/audit-log", params={"page_size": 1000}).text
    assert api.get("/v1/audit-log/verification").json() == {"valid": True, "entries": len(entries), "first_break": None}
