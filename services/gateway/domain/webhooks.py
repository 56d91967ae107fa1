"""Webhooks, the pure parts: Standard Webhooks signatures, the retry schedule, and which targets are allowed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
MIN_SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_problem(secret: str) -> str | None:
    """Why a secret is unusable, or None. Standard Webhooks secrets are `whsec_` + base64 of the key bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return f"must start with '{SECRET_PREFIX}' followed by base64 (Standard Webhooks)"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return "the part after 'whsec_' must be base64"
    if len(key) < MIN_SECRET_BYTES:
        return f"must encode at least {MIN_SECRET_BYTES} random bytes"
    return None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,` + base64 HMAC-SHA256 of "id.timestamp.body"."""
    key = base64.b64decode(secret[len(SECRET_PREFIX) :])
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# Back-off between attempts: base·2^(n-1) after the n-th failed attempt, at most this. With the default base (5 s)
# and attempts (21, services/common/config.py) a delivery is retried for 26.7 to 53.4 hours (README, Settings).
RETRY_CAP_SECONDS = 6 * 3600.0


def retry_delay(
    attempts: int, base_seconds: float, cap_seconds: float = RETRY_CAP_SECONDS, rng: random.Random | None = None
) -> float:
    """Exponential back-off with "equal" jitter after `attempts` failed attempts: uniform in [c/2, c], where
    c = min(cap, base·2^(n-1)).

    The jitter spreads the retries of many deliveries that failed together (a portal that was down), and half of
    each delay is certain, so the schedule's shortest total is half its longest (`retry_window`).
    """
    ceiling = min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def retry_window(max_attempts: int, base_seconds: float, cap_seconds: float = RETRY_CAP_SECONDS) -> tuple[float, float]:
    """The shortest and longest time from a delivery's first attempt to its last (then it is `failed`): the sums of
    the `max_attempts - 1` delays' lower and upper bounds."""
    ceilings = [min(cap_seconds, base_seconds * 2 ** (n - 1)) for n in range(1, max_attempts)]
    return sum(ceilings) / 2, sum(ceilings)


# IPv6 addresses that carry an IPv4 address a packet to them reaches (RFC 4291 IPv4-compatible and -mapped, RFC 3056
# 6to4, RFC 6052 NAT64, RFC 4380 Teredo): judged by the IPv4 address, which `is_global` of the IPv6 one does not look
# at (Python 3.11 calls ::127.0.0.1, 2002:7f00:1:: and 64:ff9b::7f00:1 global).
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: not globally reachable


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address embeds (a Teredo address two: its server and its client), or none."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def address_problem(address: str) -> str | None:
    """Why a resolved address is not a public one, or None."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return f"resolves to {ip}, a local-use NAT64 address"
        for v4 in embedded_ipv4(ip):
            if not v4.is_global or v4.is_multicast:
                return f"resolves to {ip}, which embeds {v4}, a loopback, link-local, private or reserved address"
    if not ip.is_global or ip.is_multicast:
        return f"resolves to {ip}, a loopback, link-local, private or reserved address"
    return None


def target_problem(url: str, addresses: Iterable[str], allow_private: bool) -> str | None:
    """Why a webhook URL may not be called, or None. `addresses` are what its host resolves to."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute http(s) URL"
    if parts.username or parts.password:
        return "must not carry credentials; use the signing secret"
    if allow_private:
        return None
    if parts.scheme != "https":
        return "must use https"
    resolved = list(addresses)
    if not resolved:
        return f"host {parts.hostname} does not resolve"
    for address in resolved:
        if why := address_problem(address):
            return why
    return None
