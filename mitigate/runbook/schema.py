"""JSON Schema of the runbook format, generated from the models (``mitigate schema``).

Why generate: editors (VS Code YAML, JetBrains) autocomplete and flag errors from a schema,
and a hand-written schema drifts. The pydantic model leaves action parameters open
(``dict[str, Any]``) because the verb decides their shape; here each verb's parameter model
from the catalogue is spliced in, so editors know ``cordon`` takes ``names`` or ``selector``.
The committed copy ``runbooks/runbook.schema.json`` is checked for staleness by a test.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from mitigate.runbook.actions import CATALOGUE
from mitigate.runbook.model import Runbook

SCHEMA_ID = "https://mitigate.dev/schemas/runbook.schema.json"


def _action_schema(defs: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for verb, info in sorted(CATALOGUE.items()):
        sub = TypeAdapter(info.params_model).json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        name = info.params_model.__name__
        defs[name] = sub
        props[verb] = {"$ref": f"#/$defs/{name}"}
    return {"type": "object", "properties": props, "additionalProperties": False,
            "minProperties": 1, "maxProperties": 1,
            "description": "exactly one verb from the action catalogue, with its parameters"}


def runbook_schema() -> dict[str, Any]:
    schema = Runbook.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    action = _action_schema(defs)
    step = defs["Step"]["properties"]
    step["action"] = {"anyOf": [action, {"type": "null"}], "default": None}
    step["undo"] = {"anyOf": [action, {"const": "none"}, {"type": "null"}], "default": None,
                    "description": step["undo"].get("description", "")}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    """Deterministic text of the schema, as committed in ``runbooks/runbook.schema.json``."""
    return json.dumps(runbook_schema(), indent=2, sort_keys=True) + "\n"
