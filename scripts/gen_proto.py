"""Generate Python code (with .pyi stubs) from proto/ — the only way generated code changes.

Usage: python scripts/gen_proto.py [OUT_DIR]   (default: proto/, beside the .proto files)
`--check` regenerates into a temporary folder and fails when anything differs from what is committed.
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    include = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO}",
        f"-I{include}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    # protoc finds the mypy-protobuf plugins on PATH: put this interpreter's scripts first.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Regular packages, so mypy, setuptools and absolute imports in *_pb2_grpc.py (grpc#29390) all resolve.
    for folder in {(out / s).parent for s in sources}:
        while folder != out:
            (folder / "__init__.py").touch()
            folder = folder.parent


def generated_files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and (p.suffix in {".py", ".pyi"}) and "__pycache__" not in p.parts
    }


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(out)
        fresh, committed = generated_files(out), generated_files(PROTO)
        differ = sorted(fresh ^ committed)
        differ += sorted(f for f in fresh & committed if not filecmp.cmp(out / f, PROTO / f, shallow=False))
    if differ:
        print("generated code is stale; run `make proto`:", *differ, sep="\n  ")
        return 1
    print(f"generated code is up to date ({len(fresh)} files)")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        raise SystemExit(check())
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO)
