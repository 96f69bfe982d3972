"""Config checking with short messages that name the offending key.

Snakemake's ``validate`` fills in the schema's defaults but reports an error as a full dump of the
schema. ``config_errors`` runs first and turns each jsonschema error into one line such as
``experiment2.bogus: unknown key (allowed: alpha, benchmarks, ...)``.
"""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import yaml


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        prefix = f"{where}." if error.absolute_path else ""
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return "; ".join(f"{prefix}{key}: unknown key{hint}" for key in extra)
    return f"{where}: {error.message}"


def config_errors(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> list[str]:
    """One readable line per violation of the schema at ``schema_path``."""
    with open(schema_path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [_describe(e) for e in errors]


def check_config(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> None:
    """Raise ``ValueError`` listing every config problem, before any job is scheduled."""
    problems = config_errors(config, schema_path)
    if problems:
        raise ValueError("invalid config: " + " | ".join(problems))


def with_defaults(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> dict[str, Any]:
    """A checked copy of ``config`` with the schema's defaults filled in, as Snakemake's
    ``validate`` fills them (the jsonschema FAQ's recipe), so that a plan can be built without
    Snakemake (crossmodal.plan)."""
    import copy

    check_config(config, schema_path)
    with open(schema_path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    base = jsonschema.Draft202012Validator
    fill_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # type: ignore[no-untyped-def]
        for name, subschema in properties.items():
            if "default" in subschema:
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from fill_properties(validator, properties, instance, schema)

    filled = copy.deepcopy(config)
    jsonschema.validators.extend(base, {"properties": set_defaults})(schema).validate(filled)
    return filled
