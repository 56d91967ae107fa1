from __future__ import annotations

import ipaddress
import random
import re
import time

import pytest
from standardwebhooks.webhooks import Webhook

from services.common.config import Settings
from services.gateway.domain.audit import GENESIS, AuditEntry, entry_hash, first_break
from services.gateway.domain.ratelimit import FixedWindowLimiter
from services.gateway.domain.webhooks import (
    RETRY_CAP_SECONDS,
    embedded_ipv4,
    new_secret,
    retry_delay,
    retry_window,
    secret_problem,
    sign,
    target_problem,
)
from services.gateway.problems import preferred_language
from services.gateway.routes.webhooks import SECRET_SCHEMA


def test_quota_counts_down_then_refuses_until_the_window_ends() -> None:
    limiter = FixedWindowLimiter(window_seconds=60)

    decisions = [limiter.take("k", 3, now=100.0 + i) for i in range(4)]
    after_window = limiter.take("k", 3, now=160.0)

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].reset_seconds == 57 and decisions[3].refusal_headers()["Retry-After"] == "57"
    assert "Retry-After" not in decisions[3].headers()
    assert after_window.allowed and after_window.remaining == 2
    assert decisions[0].headers() == {"RateLimit-Policy": '"per-key";q=3;w=60', "RateLimit": '"per-key";r=2;t=60'}


def test_quotas_are_per_key() -> None:
    limiter = FixedWindowLimiter()
    assert limiter.take("a", 1, now=0).allowed and not limiter.take("a", 1, now=1).allowed
    assert limiter.take("b", 1, now=1).allowed


def test_signature_verifies_with_the_reference_standard_webhooks_package() -> None:
    secret, body = new_secret(), b'{"type":"rewards.award_granted","data":{"amount_yuan":1000000}}'
    now = int(time.time())
    headers = {
        "webhook-id": "evt-1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, "evt-1", now, body),
    }

    verifier = Webhook(secret)
    assert verifier.verify(body, headers) == {"type": "rewards.award_granted", "data": {"amount_yuan": 1000000}}
    with pytest.raises(Exception, match="No matching signature"):
        verifier.verify(body + b" ", headers)


@pytest.mark.parametrize(
    ("secret", "ok"), [(new_secret(), True), ("plain-text-secret-of-some-length", False), ("whsec_c2hvcnQ=", False)]
)
def test_secret_format(secret: str, ok: bool) -> None:
    assert (secret_problem(secret) is None) is ok


@pytest.mark.parametrize(
    ("url", "addresses", "refused_because"),
    [
        ("https://portal.example.gov.cn/hook", ["203.0.113.9"], "reserved"),  # TEST-NET-3 is not global
        ("https://portal.example.gov.cn/hook", ["8.8.8.8"], None),
        ("https://localhost/hook", ["127.0.0.1"], "loopback"),
        ("https://intranet/hook", ["10.1.2.3"], "private"),
        ("https://meta/hook", ["169.254.169.254"], "link-local"),
        ("https://v6/hook", ["::1"], "loopback"),
        ("http://portal.example.gov.cn/hook", ["8.8.8.8"], "https"),
        ("https://user:pw@portal.example.gov.cn/hook", ["8.8.8.8"], "credentials"),
        ("ftp://portal.example.gov.cn/hook", ["8.8.8.8"], "http(s)"),
        ("https://nowhere.invalid/hook", [], "resolve"),
        # IPv6 addresses embedding a non-global IPv4 address are judged by it (Python calls most of them global).
        ("https://v6/hook", ["::127.0.0.1"], "embeds 127.0.0.1"),  # IPv4-compatible
        ("https://v6/hook", ["::ffff:10.0.0.1"], "embeds 10.0.0.1"),  # IPv4-mapped
        ("https://v6/hook", ["2002:7f00:1::"], "embeds 127.0.0.1"),  # 6to4
        ("https://v6/hook", ["2002:a9fe:a9fe::1"], "embeds 169.254.169.254"),  # 6to4 of the metadata address
        ("https://v6/hook", ["64:ff9b::7f00:1"], "embeds 127.0.0.1"),  # NAT64
        ("https://v6/hook", ["64:ff9b:1::808:808"], "local-use NAT64"),  # RFC 8215, never global
        ("https://v6/hook", ["2001:0:4136:e378:8000:63bf:3fff:fdd2"], "embeds 192.0.2.45"),  # Teredo client
        ("https://v6/hook", ["::"], "embeds 0.0.0.0"),
        ("https://v6/hook", ["::ffff:8.8.8.8"], None),  # a public IPv4 address, mapped
        ("https://v6/hook", ["2002:808:808::1"], None),  # 6to4 of a public IPv4 address
        ("https://v6/hook", ["64:ff9b::808:808"], None),  # NAT64 of a public IPv4 address
        ("https://v6/hook", ["2001:4860:4860::8888"], None),
        ("https://mixed/hook", ["8.8.8.8", "::127.0.0.1"], "embeds 127.0.0.1"),  # every address must be public
    ],
)
def test_webhook_targets_on_private_ranges_are_refused(
    url: str, addresses: list[str], refused_because: str | None
) -> None:
    problem = target_problem(url, addresses, allow_private=False)
    if refused_because is None:
        assert problem is None
    else:
        assert problem is not None and refused_because in problem


def test_private_targets_are_allowed_only_by_the_admin_setting() -> None:
    assert target_problem("http://127.0.0.1:9999/hook", ["127.0.0.1"], allow_private=True) is None


def test_embedded_ipv4_addresses_are_found_in_each_form() -> None:
    found = {
        a: [str(v4) for v4 in embedded_ipv4(ipaddress.IPv6Address(a))]
        for a in ("::7f00:1", "::ffff:7f00:1", "2002:7f00:1::", "64:ff9b::7f00:1", "2001:4860:4860::8888")
    }
    assert found == {
        "::7f00:1": ["127.0.0.1"],
        "::ffff:7f00:1": ["127.0.0.1"],
        "2002:7f00:1::": ["127.0.0.1"],
        "64:ff9b::7f00:1": ["127.0.0.1"],
        "2001:4860:4860::8888": [],
    }


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, base_seconds=5, cap_seconds=3600, rng=rng) for n in range(1, 12)]
    assert all(5 * 2 ** (n - 1) / 2 <= d <= 5 * 2 ** (n - 1) for n, d in zip(range(1, 8), delays, strict=False))
    assert 1800 <= delays[-1] <= 3600  # capped: 5 s · 2^10 would be 5120 s


class _Extreme(random.Random):
    """Draws the lowest (or highest) value `uniform` may give: the schedule's bounds, as `retry_window` states them."""

    def __init__(self, highest: bool) -> None:
        super().__init__()
        self.highest = highest

    def uniform(self, a: float, b: float) -> float:
        return b if self.highest else a


def test_default_retry_schedule_keeps_a_delivery_for_more_than_a_day() -> None:
    base = Settings.model_fields["webhook_retry_base_seconds"].default
    attempts = Settings.model_fields["webhook_max_attempts"].default
    drawn = [sum(retry_delay(n, base, rng=_Extreme(highest)) for n in range(1, attempts)) for highest in (False, True)]

    assert (base, attempts, RETRY_CAP_SECONDS) == (5.0, 21, 21600.0)
    assert retry_window(attempts, base) == tuple(drawn) == (96077.5, 192155.0)  # README: 26.7 to 53.4 hours
    assert drawn[0] > 24 * 3600
    # The cap is reached: 5 s · 2^13 = 40960 s would be a delay of 11 hours.
    assert retry_delay(14, base, rng=_Extreme(True)) == RETRY_CAP_SECONDS


def test_audit_chain_detects_a_changed_or_removed_entry() -> None:
    entries = [
        AuditEntry(i, f"2026-11-26T00:00:0{i}Z", "k1", "PUT /v1/zones/{zone_code}", f"/v1/zones/Z{i}", 201, f"r{i}")
        for i in range(1, 5)
    ]
    chain, previous = [], GENESIS
    for entry in entries:
        digest = entry_hash(entry, previous)
        chain.append((entry, previous, digest))
        previous = digest

    tampered = list(chain)
    e, p, h = tampered[1]
    tampered[1] = (AuditEntry(e.seq, e.at, e.key_id, e.action, e.resource, 200, e.request_id), p, h)

    assert first_break(chain) is None
    assert first_break(tampered) == 2
    assert first_break(chain[:1] + chain[2:]) == 3
    assert first_break(chain[2:], previous=chain[1][2]) is None


def test_audit_entry_hash_is_pinned() -> None:
    # Hashes already stored must keep verifying: these were computed by the first implementation (asdict).
    entry = AuditEntry(7, "2026-11-26T14:24:33.123456+00:00", "k1", "PUT /v1/zones/{z}", "/v1/zones/高新区", 201, "r-7")
    assert entry_hash(entry, GENESIS) == "6e9f55f977229b27703adaef1cfbd35ece21811f1e72233c8765540aa1be2d3d"
    assert entry_hash(entry, "a" * 64) == "856011374589c1b4a402300f0d2f5a7af8effc64788f166e949997e5c5262495"


@pytest.mark.parametrize(
    ("header", "language"), [("zh-CN", "zh"), ("zh-Hans;q=0.9", "zh"), ("en-US,zh;q=0.5", "en"), ("", "en")]
)
def test_accept_language_picks_chinese_only_when_preferred(header: str, language: str) -> None:
    assert preferred_language(header) == language


def test_the_documented_secret_schema_admits_every_secret_the_server_accepts() -> None:
    pattern, shortest = re.compile(SECRET_SCHEMA["pattern"]), SECRET_SCHEMA["minLength"]
    for secret in [new_secret() for _ in range(20)] + ["whsec_" + "A" * 32, "whsec_" + "A" * 32 + "="]:
        assert secret_problem(secret) is None
        assert pattern.fullmatch(secret) and len(secret) >= shortest, secret
    for refused in ("whsec_" + "A" * 28, "wh_" + "A" * 40, "whsec_" + "-" * 40):
        assert secret_problem(refused) is not None
        assert not (pattern.fullmatch(refused) and len(refused) >= shortest), refused
