"""Schemathesis over the OpenAPI document: generated requests, valid and invalid, against the real platform.

Every response must be declared by the document (status, content type, body schema, headers) and no request
may cause a server error. The platform is this module's own, so generated data never meets other tests'
data; examples are bounded and the seed fixed so `make test` stays fast and repeatable. Run through the
schemathesis CLI: its pytest plugin does not support this pytest version.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.platform import Platform, isolated_settings

MAX_EXAMPLES = 20
SEED = 20210412


@pytest.fixture(scope="module")
def contract_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(isolated_settings(tmp_path_factory.mktemp("contract"), rate_limit_per_minute=1_000_000)) as running:
        yield running


def test_every_operation_honours_the_document(contract_platform: Platform, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{contract_platform.gateway_url}/openapi.json",
            *("--checks", "all"),
            # Off: a request can match the schema and still be refused on the facts — a county code of the right
            # shape that is not registered, a page token this API never issued, two parks of one name, a webhook
            # host that does not resolve. Those 422s are by design; every other check stays on.
            *("--exclude-checks", "positive_data_acceptance"),
            # Auth is the authorization matrix's subject; here every request carries the admin key.
            *("--generation-with-security-parameters", "false"),
            *("--max-examples", str(MAX_EXAMPLES)),
            *("--seed", str(SEED)),
            *("--header", f"Authorization: Bearer {contract_platform.admin_key}"),
            *("--report-dir", str(tmp_path)),
            "--no-color",
        ],
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
