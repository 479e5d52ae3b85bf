"""The generic located-YAML layer that runbooks, scenarios and config share."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mitigate.errors import LocatedError, LocatedErrors
from mitigate.yamlloc import format_where, load_yaml, validate_located


class Server(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    port: int = Field(8080, ge=1, le=65535)
    tags: list[str] = []


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    servers: dict[str, Server]
    mode: int | bool = 1


def errors_of(text: str) -> list[str]:
    doc = load_yaml(text, "c.yaml")
    with pytest.raises(LocatedErrors) as info:
        validate_located(Config, doc.data, doc.marks, "c.yaml")
    return [str(e) for e in info.value.errors]


def test_marks_point_at_values_and_keys() -> None:
    doc = load_yaml("a:\n  b: [x, {c: 1}]\n", "f.yaml")
    assert doc.data == {"a": {"b": ["x", {"c": 1}]}}
    assert (doc.marks[("a", "b", 1, "c")].line, doc.marks[("a", "b", 1, "c")].column) == (2, 14)
    assert (doc.marks[("a", "b")].key_line, doc.marks[("a", "b")].key_column) == (2, 3)


def test_safe_subset_keys_as_text_and_timestamps_as_strings() -> None:
    doc = load_yaml("on: 2024-02-13\n1: yes\n")
    assert doc.data == {"on": "2024-02-13", "1": True}
    with pytest.raises(LocatedError, match="invalid YAML"):
        load_yaml("x: !!python/object/apply:os.system [echo]\n")


def test_aliases_and_merge_keys_are_shared_not_expanded() -> None:
    doc = load_yaml("base: &b {port: 1}\none: {<<: *b, url: u}\nlist: &l [1, 2]\nagain: *l\n")
    assert doc.data["one"] == {"port": 1, "url": "u"}
    assert doc.data["again"] is doc.data["list"]
    small = "a: &a [x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(5))
    data = load_yaml(small).data  # 3**6 leaves when expanded: within the budget, and shared
    assert data["f"][0] is data["f"][1] is data["e"]


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\na: 2\n", "c.yaml:2:1: duplicate key 'a'"),
    ("a:\n\t- 1\n", "c.yaml:2:1: invalid YAML: tab character; indent with spaces"),
    ("a: [1\n", "c.yaml:2:1: invalid YAML: expected ',' or ']'"),
    ("&x [*x]\n", "c.yaml:1:1: recursive YAML alias is not supported"),
    ("? [a]\n: 1\n", "c.yaml:1:3: a mapping key must be a plain value"),
    ("[" * 5000, "YAML is nested more than 64 levels deep"),
])
def test_yaml_problems_are_located(text: str, expected: str) -> None:
    with pytest.raises(LocatedError) as info:
        load_yaml(text, "c.yaml")
    assert str(info.value).startswith(expected) or expected in str(info.value)


def test_validate_located_human_messages() -> None:
    text = "servers:\n  web:\n    ulr: http://x\n    port: ten\n  db: {url: d, port: 0, tags: x}\nmode: [1]\n"
    assert errors_of(text) == [
        "c.yaml:2:3: missing required key 'url' (at servers.web)",
        "c.yaml:3:5: unknown key 'ulr' (did you mean 'url'?) (at servers.web.ulr)",
        "c.yaml:4:11: expected an integer, got 'ten' (at servers.web.port)",
        "c.yaml:5:22: must be >= 1, got 0 (at servers.db.port)",
        "c.yaml:5:31: expected a list, got 'x' (at servers.db.tags)",
        "c.yaml:6:7: expected an integer or true or false, got a list (at mode)",
    ]


def test_format_where() -> None:
    assert format_where(("steps", 3, "action", "cordon", "names")) == "steps[3].action.cordon.names"
    assert format_where(("columns", "Last seen", 0)) == "columns['Last seen'][0]"


def test_libyaml_and_pure_python_parsing_give_the_same_data_and_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid documents go through libyaml (fast); they must read exactly as the pure-Python
    loader reads them, positions included: every shipped runbook and drill scenario."""
    from pathlib import Path

    import mitigate.yamlloc as yamlloc

    if yamlloc._CLoader is None:
        pytest.skip("PyYAML was built without libyaml here")
    root = Path(__file__).resolve().parents[2] / "runbooks"
    files = sorted(root.glob("*.yaml")) + sorted((root / "drills").glob("*.yaml"))
    assert len(files) >= 12
    fast = [load_yaml(f.read_text(), str(f)) for f in files]
    monkeypatch.setattr(yamlloc, "_CLoader", None)
    slow = [load_yaml(f.read_text(), str(f)) for f in files]
    for f, a, b in zip(files, fast, slow, strict=True):
        assert a.data == b.data, f
        assert a.marks == b.marks, f
