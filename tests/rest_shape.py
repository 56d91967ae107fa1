"""Does a webhook event's `data` say what it says the way the REST API does? Shared by unit and e2e tests."""

from __future__ import annotations

import types
from collections.abc import Collection
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

Path = tuple[str, ...]


def unlike_rest(data: Any, rest: Any, path: Path = ()) -> list[str]:
    """Where `data` departs from the REST document `rest`: a key REST does not have there, an object where REST
    has a value (or the reverse), a list of another length, a different value. REST may say more than `data`;
    every key `data` has must be where REST has it, with the value REST gives it."""
    where = ".".join(path) or "(top)"
    if isinstance(data, dict):
        if not isinstance(rest, dict):
            return [f"{where}: an object in the event, {rest!r} in REST"]
        return [
            problem
            for key, value in data.items()
            for problem in (
                unlike_rest(value, rest[key], (*path, key)) if key in rest else [f"{where}.{key}: not in REST"]
            )
        ]
    if isinstance(data, list):
        if not isinstance(rest, list) or len(rest) != len(data):
            return [f"{where}: {data!r} in the event, {rest!r} in REST"]
        return [problem for d, r in zip(data, rest, strict=True) for problem in unlike_rest(d, r, (*path, "[]"))]
    return [] if data == rest else [f"{where}: {data!r} in the event, {rest!r} in REST"]


def data_paths(document: Any, prefix: Path = ()) -> tuple[set[Path], set[Path]]:
    """Every key path of a JSON document (list items share their list's path): (all paths, those holding objects)."""
    paths: set[Path] = set()
    objects: set[Path] = set()
    if isinstance(document, dict):
        if prefix:
            objects.add(prefix)
        for key, value in document.items():
            paths.add((*prefix, key))
            inner, inner_objects = data_paths(value, (*prefix, key))
            paths |= inner
            objects |= inner_objects
    elif isinstance(document, list):
        for item in document:
            inner, inner_objects = data_paths(item, prefix)
            paths |= inner
            objects |= inner_objects
    return paths, objects


def model_paths(annotation: Any, prefix: Path = ()) -> tuple[set[Path], set[Path]]:
    """The key paths a REST response model allows (a union: any member's), and those that hold objects."""
    paths: set[Path] = set()
    objects: set[Path] = set()
    for model in _models(annotation):
        if prefix:
            objects.add(prefix)
        for name, field in model.model_fields.items():
            paths.add((*prefix, name))
            inner, inner_objects = model_paths(field.annotation, (*prefix, name))
            paths |= inner
            objects |= inner_objects
    return paths, objects


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models(get_args(annotation)[0])
    if origin in (list, Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    return []  # a value: str, int, date, Literal[…], dict[str, …] (free keys, like an award's basis)


def unlike_model(data: dict[str, Any], model: Any, ignore: Collection[str] = ()) -> list[str]:
    """Key paths of `data` (but its top-level keys in `ignore`) the REST model does not have, or nests otherwise."""
    paths, objects = data_paths({k: v for k, v in data.items() if k not in ignore})
    allowed, allowed_objects = model_paths(model)
    missing = [".".join(p) + ": not in REST" for p in sorted(paths - allowed)]
    shaped = [".".join(p) + ": an object here, a value in REST" for p in sorted(objects - allowed_objects)]
    flat = [".".join(p) + ": a value here, an object in REST" for p in sorted((paths - objects) & allowed_objects)]
    return missing + shaped + flat
