"""Monitoring: ServiceMonitors, alert rules and the Grafana dashboard against the metrics the code exports.

Checked: the PrometheusRule and ServiceMonitors parse and have the Prometheus Operator's structure; every alert
and dashboard expression parses as PromQL (promql-parser, the Rust parser behind GreptimeDB, as a wheel: syntax,
function names and argument types); every metric they name is exported by the services (found in the code) or
comes from kube-state-metrics / Prometheus itself; every `job` they select is a Service a ServiceMonitor scrapes.
Not checked: that the thresholds are right, that the queries return data (no Prometheus runs here), Grafana's
own schema beyond the fields read below.
"""

from __future__ import annotations

import ast
import json
import re

import promql_parser
import pytest

from services.common.config import ALL_SERVICES, DOMAIN_SERVICES
from tests.deploy.conftest import K8S, ROOT, Doc, find, load_yaml, one

MONITORING = K8S / "components" / "monitoring"
DASHBOARD = MONITORING / "dashboards" / "gaoxin-platform.json"
# Series that come from elsewhere: kube-state-metrics and Prometheus' own scrape health.
EXTERNAL_METRICS = {
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
    "kube_job_status_failed",
    "up",
}
# Business figures the dashboard shows; the services that own them must export these names (issue 7 report).
BUSINESS_METRICS = {
    "gaoxin_indicator_values_ingested_total": "indicators",
    "gaoxin_awards_granted_total": "rewards",
    "gaoxin_talent_checks_total": "talent",
}
REQUIRED_ALERTS = {
    "GaoxinGrpcErrorRateHigh",
    "GaoxinGatewayErrorRateHigh",
    "GaoxinGrpcLatencyP99High",
    "GaoxinGatewayLatencyP99High",
    "GaoxinOutboxBacklogGrowing",
    "GaoxinConsumerPendingGrowing",
    "GaoxinAwardLedgerWriteFailures",
    "GaoxinServiceNotReady",
}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "1m"}


def exported_metrics() -> set[str]:
    """Every series name the services expose, read from the prometheus_client constructors in services/."""
    suffixes = {
        "Counter": ("_total", "_created"),
        "Gauge": ("",),
        "Histogram": ("_bucket", "_sum", "_count", "_created"),
        "Summary": ("", "_sum", "_count", "_created"),
        "Info": ("_info",),
    }
    names = set()
    for path in (ROOT / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in suffixes):
                continue
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                base = node.args[0].value.removesuffix("_total") if node.func.id == "Counter" else node.args[0].value
                names |= {base + suffix for suffix in suffixes[node.func.id]}
    return names


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []
    promql_parser.walk(
        promql_parser.parse(expr),
        lambda node: found.append(node) if isinstance(node, promql_parser.VectorSelector) else None,
    )
    return found


def alert_rules() -> list[Doc]:
    rule = load_yaml(MONITORING / "prometheusrule.yaml")
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expression with Grafana's variables replaced) for every query of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    result = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            expr = expr.replace("$namespace", "gaoxin").replace("$service", "rewards")
            result.append((panel["title"], expr))
    return result


def test_find_the_metrics_the_services_export() -> None:
    names = exported_metrics()
    assert {
        "grpc_server_handled_total",
        "grpc_server_handling_seconds_bucket",
        "gaoxin_outbox_backlog",
        "gaoxin_consumer_pending",
        "gaoxin_events_consumed_total",
        "gaoxin_build_info",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
    } <= names


def test_parse_alert_rules_as_promql() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= REQUIRED_ALERTS
    for rule in rules:
        promql_parser.parse(rule["expr"])  # raises ValueError on a syntax or type error
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0m")), rule["alert"]


def test_alert_rules_name_only_exported_metrics() -> None:
    known = exported_metrics() | EXTERNAL_METRICS
    for rule in alert_rules():
        names = {s.name for s in selectors(rule["expr"])}
        assert names and names <= known, f"{rule['alert']}: {names - known}"


def test_alert_rules_select_jobs_the_servicemonitors_create(rendered: dict[str, list[Doc]]) -> None:
    """Prometheus names a ServiceMonitor's targets job=<Service name>: the rules' job matchers must hit them."""
    jobs = {f"gaoxin-{s}" for s in ALL_SERVICES}
    monitored = {
        sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for sm in find(rendered["prod"], "ServiceMonitor")
    }
    assert monitored == jobs
    for rule in alert_rules():
        for selector in selectors(rule["expr"]):
            for matcher in selector.matchers.matchers:
                if matcher.name == "job" and matcher.op == promql_parser.MatchOp.Equal:
                    assert matcher.value in jobs, rule["alert"]
                if matcher.name == "job" and matcher.op == promql_parser.MatchOp.Re:
                    assert {j for j in jobs if re.fullmatch(matcher.value, j)} == jobs, rule["alert"]
                if matcher.name == "deployment":
                    assert {j for j in jobs if re.fullmatch(matcher.value, j)} == jobs, rule["alert"]


def test_servicemonitors_scrape_a_named_port_of_each_service(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    for service in ALL_SERVICES:
        monitor = one(docs, "ServiceMonitor", f"gaoxin-{service}")
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        target = one(docs, "Service", f"gaoxin-{service}")
        assert target["metadata"]["labels"].items() >= monitor["spec"]["selector"]["matchLabels"].items()
        port_names = {p["name"] for p in target["spec"]["ports"]}
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in port_names and endpoint["path"] == "/metrics"
        assert endpoint["port"] == ("http" if service == "gateway" else "metrics")
    (rule,) = find(docs, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["spec"]["groups"]


def test_parse_dashboard_queries_as_promql_naming_known_metrics() -> None:
    known = exported_metrics() | set(BUSINESS_METRICS)
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    for title, expr in exprs:
        assert "$" not in expr, f"{title}: unknown variable in {expr}"
        names = {s.name for s in selectors(expr)}
        assert names and names <= known, f"{title}: {names - known}"


def test_dashboard_shows_rate_errors_duration_per_service_and_the_business_figures() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "gaoxin-platform"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["service"]["query"].split(",") == list(DOMAIN_SERVICES)
    raw = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    gateway = [e for e in raw if 'job="gaoxin-gateway"' in e]
    per_service = [e for e in raw if 'job="gaoxin-$service"' in e]
    for exprs, requests, duration in (
        (gateway, "http_requests_total", "http_request_duration_seconds_bucket"),
        (per_service, "grpc_server_handled_total", "grpc_server_handling_seconds_bucket"),
    ):
        assert any(requests in e and "rate(" in e for e in exprs)  # rate
        assert any(requests in e and "/" in e for e in exprs)  # errors, as a share
        assert any(duration in e and "histogram_quantile(0.99" in e for e in exprs)  # duration
    repeated = [p for p in dashboard["panels"] if p.get("repeat") == "service"]
    assert len(repeated) == 1 and repeated[0]["type"] == "row"
    for metric in BUSINESS_METRICS:
        assert any(metric in e for e in raw), metric
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_dashboard_ships_as_a_grafana_sidecar_configmap(rendered: dict[str, list[Doc]]) -> None:
    configmap = one(rendered["prod"], "ConfigMap", "gaoxin-grafana-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["gaoxin-platform.json"]) == json.loads(DASHBOARD.read_text())


@pytest.mark.parametrize("metric", sorted(BUSINESS_METRICS))
def test_export_business_metrics_the_dashboard_shows(metric: str) -> None:
    names = exported_metrics()
    if metric not in names:
        pytest.skip(f"{metric} is not exported yet: the {BUSINESS_METRICS[metric]} service must define it")
    assert metric.removesuffix("_total") + "_created" in names, f"{metric} must be a Counter"
