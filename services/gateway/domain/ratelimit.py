"""Per-key request quotas: a fixed window per key, reported with the IETF RateLimit / RateLimit-Policy fields.

Pure (the clock is an argument). Each gateway replica counts on its own, so with N replicas a key can make up
to N × quota requests a window; a shared counter (Redis, NATS KV) would be needed for an exact global quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

POLICY_NAME = "per-key"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    quota: int
    remaining: int
    reset_seconds: int
    window_seconds: int

    def headers(self) -> dict[str, str]:
        """The quota fields, on every answer to a keyed request (a 403 too, which is counted like the others)."""
        return {
            "RateLimit-Policy": f'"{POLICY_NAME}";q={self.quota};w={self.window_seconds}',
            "RateLimit": f'"{POLICY_NAME}";r={self.remaining};t={self.reset_seconds}',
        }

    def refusal_headers(self) -> dict[str, str]:
        """The headers of the 429: the quota fields and when to retry."""
        return {**self.headers(), "Retry-After": str(self.reset_seconds)}


class FixedWindowLimiter:
    def __init__(self, window_seconds: int = 60, max_keys: int = 100_000) -> None:
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}

    def take(self, key: str, quota: int, now: float) -> Decision:
        started, used = self._windows.get(key, (now, 0))
        if now - started >= self.window_seconds:
            started, used = now, 0
        allowed = used < quota
        if allowed:
            used += 1
        if len(self._windows) >= self.max_keys and key not in self._windows:
            self._windows.clear()  # bounded memory; forgetting windows only ever errs towards allowing
        self._windows[key] = (started, used)
        reset = max(1, math.ceil(started + self.window_seconds - now))
        return Decision(allowed, quota, max(0, quota - used), reset, self.window_seconds)
