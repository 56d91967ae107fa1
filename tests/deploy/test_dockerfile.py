"""The Dockerfile, read as text (no Docker engine is needed, or available, to check its essentials)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs, continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def dockerfile_user() -> int:
    """The numeric uid the image runs as (the Kubernetes manifests set the same runAsUser)."""
    return int(parse()[1][-1].all("USER")[-1].partition(":")[0])


def parse() -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults, and the stages with their base image resolved from them."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions((ROOT / "Dockerfile").read_text()):
        if keyword == "ARG" and not stages and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def test_build_in_stages_runtime_copies_only_the_venv() -> None:
    _, stages = parse()
    assert len(stages) >= 2
    builder_names = {s.name for s in stages[:-1]}
    copies = stages[-1].all("COPY")
    assert copies, "the runtime stage copies the built virtualenv"
    sources = [re.match(r"--from=(\S+)\s+(\S+)", c) for c in copies]
    assert all(m is not None and m.group(1) in builder_names for m in sources), copies
    assert [m.group(2) for m in sources if m is not None] == ["/opt/venv"]
    assert all("pip" not in run for run in stages[-1].all("RUN")), "nothing is installed in the runtime stage"


def test_pin_base_images_never_latest() -> None:
    _, stages = parse()
    for stage in stages:
        image = stage.image
        if image in {s.name for s in stages}:
            continue  # FROM an earlier stage
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{image}: no tag"
        assert tag != "latest" and "latest" not in tag, image
        assert re.match(r"^3\.11\.\d+-slim", tag), f"{image}: the project runs on Python 3.11 (pyproject.toml)"


def test_run_as_numeric_non_root_user() -> None:
    _, stages = parse()
    users = stages[-1].all("USER")
    assert users, "the runtime stage sets USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) >= 10000, users[-1]
    assert group == "" or (group.isdigit() and int(group) != 0)


def test_start_one_process_in_exec_form() -> None:
    _, stages = parse()
    runtime = stages[-1]
    assert not runtime.all("ENTRYPOINT"), "no wrapper: the Deployment's command is the process (PID 1)"
    cmd = json.loads(runtime.all("CMD")[-1])
    assert isinstance(cmd, list) and cmd[0] == "gaoxin"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "gaoxin" in scripts
    assert not runtime.all("HEALTHCHECK"), "Kubernetes probes the pods; a Docker HEALTHCHECK would be ignored"


def test_bind_all_interfaces_in_the_container() -> None:
    _, stages = parse()
    env = " ".join(stages[-1].all("ENV"))
    assert "GAOXIN_HOST=0.0.0.0" in env
    assert "PYTHONUNBUFFERED=1" in env


def test_exclude_local_state_from_build_context() -> None:
    text = (ROOT / ".dockerignore").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "*", "everything is excluded unless named (.venv, .data, .git stay out)"
    included = {ln[1:] for ln in lines if ln.startswith("!")}
    assert included == {"pyproject.toml", "services", "proto"}
