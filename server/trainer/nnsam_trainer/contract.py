"""plan.json and dataset.json as the server writes them, checked against the JSON Schemas generated from its
zod schemas (schemas/*.schema.json, from server/src/engine/training/trainer-input.ts), with the schemas'
defaults filled in: the trainer takes every plan value, default or not, from there and repeats none."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).parent / "schemas"
#: problems named in one error at most (the first few, in document order)
MAX_PROBLEMS = 3


class InvalidDocument(ValueError):
    """A document that does not match its schema; the message names the file and the fields."""


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """The validator of schemas/<name>.schema.json (name: plan, dataset)."""
    with open(SCHEMA_DIR / f"{name}.schema.json", encoding="utf8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def checked(document: Any, name: str, source: str | None = None) -> dict:
    """`document` validated against schema `name`, as a new dict with the schema's defaults filled in.
    Raises InvalidDocument naming `source` (default: <name>.json) and the first problems."""
    v = validator(name)
    errors = sorted(v.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        problems = "; ".join(f"{_where(e.absolute_path)}: {e.message}" for e in errors[:MAX_PROBLEMS])
        more = f" (and {len(errors) - MAX_PROBLEMS} more)" if len(errors) > MAX_PROBLEMS else ""
        raise InvalidDocument(f"{source or name + '.json'} does not match what the server writes: {problems}{more}")
    return with_defaults(document, v.schema)


def with_defaults(value: Any, schema: dict) -> Any:
    """A copy of `value` (valid against `schema`) with every absent key that has a "default" set to it, at
    every depth; of anyOf / oneOf branches, the one the value matches."""
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            for branch in schema[keyword]:
                if Draft202012Validator(branch).is_valid(value):
                    return with_defaults(value, branch)
            return copy.deepcopy(value)
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        # each value copied once: by the recursion where the schema describes it, else as it is
        out = {key: with_defaults(v, properties[key]) if key in properties else copy.deepcopy(v)
               for key, v in value.items()}
        for key, sub in properties.items():
            if key not in out and "default" in sub:
                out[key] = with_defaults(copy.deepcopy(sub["default"]), sub)
        return out
    return copy.deepcopy(value)
