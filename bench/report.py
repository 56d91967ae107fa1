"""What every benchmark result carries besides its figures, and progress lines (stderr; stdout is the JSON)."""

from __future__ import annotations

import os
import platform
import sys
import time

_STARTED = time.monotonic()


def note(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.machine()}",
    }
