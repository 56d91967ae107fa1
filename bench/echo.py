"""The bare baseline servers: a minimal FastAPI app calling a minimal grpc.aio echo server, nothing else.

Shaped like the platform's read path (HTTP process → gRPC process), minus what the platform adds: no
middleware, auth, interceptors, health, reflection, protobuf messages, database. Run as

    python -m bench.echo grpc --port P
    python -m bench.echo http --port P --grpc-port G

The gRPC method uses the generic-handler API with identity serializers, so requests and replies are raw bytes.
What the platform's processes are run with, the echo is run with too: uvloop, httptools, the collector's tuning.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import uvicorn
import uvloop
from fastapi import FastAPI, Request

from services.common.runtime import UVICORN_OPTIONS, tune_garbage_collector

HOST = "127.0.0.1"
SERVICE = "bench.v1.EchoService"
METHOD = "Echo"


async def _echo(request: bytes, _context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


async def serve_grpc(port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(_echo)})
    server.add_generic_rpc_handlers((handler,))
    if server.add_insecure_port(f"{HOST}:{port}") != port:
        raise RuntimeError(f"could not bind {HOST}:{port}")
    await server.start()
    await server.wait_for_termination()


def create_app(grpc_port: int) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The channel is made inside the running loop, as the gateway's Backends are (grpc#32480).
        channel = grpc.aio.insecure_channel(f"{HOST}:{grpc_port}")
        app.state.echo = channel.unary_unary(f"/{SERVICE}/{METHOD}")
        try:
            yield
        finally:
            await channel.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/echo/{code}")
    async def echo(code: str, request: Request) -> dict[str, Any]:
        reply: bytes = await request.app.state.echo(code.encode(), timeout=5.0)
        return {"code": reply.decode()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo", description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["grpc", "http"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, help="where the echo gRPC server listens (role http)")
    args = parser.parse_args()
    tune_garbage_collector()  # as every platform process does
    if args.role == "grpc":
        uvloop.run(serve_grpc(args.port))  # as services/common/runtime.py runs the domain services
        return
    if args.grpc_port is None:
        parser.error("role http needs --grpc-port")
    uvicorn.run(create_app(args.grpc_port), host=HOST, port=args.port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
