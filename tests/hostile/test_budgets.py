"""Hostile runbooks, templates and request bodies stay cheap (issue 12, point 9).

Every budget has an over-budget input that must fail in well under a second with an error that
says where (path:line:column for files, the expression for templates). Before the budgets a 1 kB
alias bomb cost minutes of CPU, 40,000 ``|`` blocks 78 s, nested ``range`` loops and
``center(10**9)`` hung or took 1 GB, and 3,000 nested parentheses raised a RecursionError.
"""

from __future__ import annotations

import re
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from mitigate.cli import main
from mitigate.errors import LocatedError, LocatedErrors, MitigateError
from mitigate.runbook.actions import parse_params
from mitigate.runbook.loader import load_runbook
from mitigate.runbook.templating import TemplateError, evaluate, render
from mitigate.yamlloc import load_yaml

FAST = 1.0  # seconds: every over-budget input must be refused faster than this

HEADER = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: hostile, title: Hostile runbook, source: tests}
steps:
  - id: note
    manual: nothing
"""


def alias_bomb() -> str:
    """~1 kB; 9**9 (387 million) values when expanded."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    try:
        fn()
    except (MitigateError, TemplateError) as exc:
        elapsed = time.perf_counter() - start
        assert elapsed < FAST, f"took {elapsed:.2f} s"
        return exc
    raise AssertionError("the over-budget input was accepted")


YAML_CASES = {
    "alias bomb": (HEADER + "extra:\n" + "".join("  " + line + "\n" for line in alias_bomb().splitlines()),
                   r"expands to more than"),
    "flow nesting": (HEADER + "x: " + "[" * 3000 + "]" * 3000 + "\n", r"nested more than 64 levels"),
    "block nesting": (HEADER + "x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(3000)) + "\n",
                      r"nested more than 64 levels"),
    "alias uses": (HEADER + "a: &a x\nb: [" + ", ".join(["*a"] * 20_000) + "]\n", r"more than 10,000 alias uses"),
}


@pytest.mark.parametrize("case", list(YAML_CASES))
def test_yaml_budgets_fail_fast_and_located(case: str, tmp_path: Path) -> None:
    text, pattern = YAML_CASES[case]
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    exc = timed(lambda: load_runbook(path))
    errors = exc.errors if isinstance(exc, LocatedErrors) else [exc]
    assert isinstance(errors[0], LocatedError)
    assert re.search(pattern, str(exc)), str(exc)
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(errors[0])), str(errors[0])
    assert errors[0].line > 1


def test_many_block_scalars_load_in_linear_time() -> None:
    """40,000 ``|`` blocks: the loader split the whole file once per block (78 s)."""
    text = "".join(f"k{i}: |\n  line {i}\n" for i in range(40_000))
    start = time.perf_counter()
    yaml.safe_load(text)  # the reference, measured in the same run
    reference = time.perf_counter() - start
    start = time.perf_counter()
    doc = load_yaml(text, "blocks.yaml")
    elapsed = time.perf_counter() - start
    assert doc.data["k39999"] == "line 39999\n"
    assert elapsed < max(2.0, 15 * reference), (elapsed, reference)


def test_validate_reports_every_hostile_file_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A RecursionError used to abort ``validate`` of a whole folder."""
    for name, (text, _) in YAML_CASES.items():
        (tmp_path / (name.replace(" ", "-") + ".yaml")).write_text(text)
    (tmp_path / "parens.yaml").write_text(HEADER.replace("manual: nothing", "manual: nothing\n    when: \"{{ "
                                                         + "(" * 3000 + "1" + ")" * 3000 + " }}\""))
    (tmp_path / "good.yaml").write_text(HEADER)
    start = time.perf_counter()
    code = main(["validate", str(tmp_path)])
    elapsed = time.perf_counter() - start
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 1
    assert elapsed < 1.0 * (len(YAML_CASES) + 2), elapsed
    for name in [*YAML_CASES, "parens"]:
        file = tmp_path / (name.replace(" ", "-") + ".yaml")
        assert re.search(rf"{re.escape(str(file))}:\d+:\d+: ", text), (name, text)
    assert "Traceback" not in text and "RecursionError" not in text
    assert "nested more than 64" in text


TEMPLATE_CASES = {
    "nested range": ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
                     "operations"),
    "nested range output": ("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
                            "operations"),
    "loop over data": ("{% set xs = inputs.xs %}{% for a in xs %}{% for b in xs %}{% for c in xs %}"
                       "{% endfor %}{% endfor %}{% endfor %}", "operations"),
    "repeated squaring": ("{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}"
                          "{% endfor %}{{ ns.x }}", "bits"),
    "power": ("{{ 10 ** 1000000 }}", "too large"),
    "center": ("{{ 'a'|center(10**9) }}", "width"),
    "printf width": ("{{ '%01000000000d' % 0 }}", "width"),
    "format width": ("{{ '{:>1000000000}'.format('x') }}", "width"),
    "nested format width": ("{{ '{:>{}}'.format('x', 1000000000) }}", "width"),
    "ljust": ("{{ 'x'.ljust(10**9) }}", "width"),
    "indent": ("{{ 'a\nb'|indent(10**9) }}", "width"),
    "batch fill": ("{{ 'x'|batch(10**9, 'y')|list }}", "width"),
    "parentheses": ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested"),
    "self-calling macro": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "nested"),
    "doubling concat": ("{% set ns = namespace(s='x' * 999999) %}{% for i in range(30) %}"
                        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}", "characters"),
    "doubling plus": ("{% set ns = namespace(s='x' * 999999) %}{% for i in range(30) %}"
                      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}", "items"),
    "shared strings printed": ("{{ ['x' * 999999] * 1000 }}", "items"),
    "shared strings listed": ("{% set s = 'x' * 999999 %}{{ [s, s, s, s, s, s] }}", "characters"),
    "replace": ("{{ ('x' * 100000).replace('x', 'y' * 100000) }}", "replace"),
    "replace filter": ("{{ ('x' * 100000) | replace('x', 'y' * 100000) }}", "replace"),
    "join": ("{{ ('x' * 999999, 'y' * 999999) | join }}", "join"),
    "mutation": ("{{ steps.find['items'].append(3) }}", "unsafe"),
    "dict mutation": ("{{ inputs.update({'a': 1}) }}", "unsafe"),
}


@pytest.mark.parametrize("case", list(TEMPLATE_CASES))
def test_template_budgets_fail_fast_and_name_the_template(case: str) -> None:
    text, word = TEMPLATE_CASES[case]
    ctx = {"inputs": {"xs": list(range(5000))}, "steps": {"find": {"items": [1, 2]}}}
    exc = timed(lambda: render(text, ctx))
    message = str(exc)
    assert word in message, message
    assert message.startswith(("template '", 'template "', "expression '", 'expression "')), message
    assert ctx["steps"]["find"]["items"] == [1, 2]


def test_budgets_leave_ordinary_templates_alone() -> None:
    ctx = {"inputs": {"xs": list(range(5000)), "n": 3}}
    assert render("{% for x in inputs.xs %}{{ x }},{% endfor %}", ctx).count(",") == 5000
    assert render("{{ '%5.2f' % 3.14159 }}|{{ '{:>8}'.format('x') }}|{{ 'a'|center(9) }}", ctx) \
        == " 3.14|       x|    a    "
    assert evaluate("inputs.xs | select('odd') | list | length", ctx) == 2500
    assert evaluate("2 ** 64 * inputs.n", ctx) == 3 * 2**64


def test_a_patch_is_built_as_data_never_parsed_from_rendered_text(tmp_path: Path) -> None:
    """An input holding JSON must stay a string inside the patch (it injected replicas: 0)."""
    evil = 'x", "spec": {"replicas": 0}, "y": "'
    params = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web",
              "patch": {"metadata": {"annotations": {"note": "{{ inputs.v }}"}}}}
    rendered = render(params, {"inputs": {"v": evil}})
    parsed = parse_params("patch", rendered)
    assert parsed.patch == {"metadata": {"annotations": {"note": evil}}}  # type: ignore[attr-defined]
    text = HEADER + """  - id: patch
    action:
      patch:
        apiVersion: apps/v1
        kind: Deployment
        namespace: shop
        name: web
        patch: '{"metadata": {"annotations": {"note": "{{ inputs.v }}"}}}'
inputs:
  v: {type: string, default: x}
"""
    path = tmp_path / "textpatch.yaml"
    path.write_text(text)
    with pytest.raises(LocatedErrors) as info:
        load_runbook(path)
    assert "a patch is data" in str(info.value)
    assert re.search(rf"{re.escape(str(path))}:1[0-9]:\d+: ", str(info.value))


def test_the_adapter_refuses_a_patch_given_as_text() -> None:
    from integrations.kube.actions.objects import Patch
    from mitigate.ports import ClusterError as Err

    patch = Patch.__new__(Patch)
    patch.p = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web",
               "patch": '{"spec": {"replicas": 0}}', "type": "merge"}
    with pytest.raises(Err, match="must be a mapping or a list"):
        patch.bind()


def test_sandbox_apply_patch_body_has_the_yaml_budget() -> None:
    from integrations.sandbox import Sandbox

    scenario = {"name": "tiny", "description": "one namespace", "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}]}
    sb = Sandbox.start(scenario)
    try:
        context = sb.contexts[0]
        url = sb.url(context) + "/api/v1/namespaces/shop/configmaps/bomb?fieldManager=test"
        body = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb, namespace: shop}\ndata:\n"
                + "".join("  " + line + "\n" for line in alias_bomb().splitlines()))
        request = urllib.request.Request(url, data=body.encode(), method="PATCH", headers={
            "Content-Type": "application/apply-patch+yaml", "Authorization": f"Bearer {sb.token}"})
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        start = time.perf_counter()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, context=ctx, timeout=10)  # noqa: S310 - a local test server
        assert time.perf_counter() - start < FAST
        assert info.value.code == 400
        assert "expands to more than" in info.value.read().decode()
    finally:
        sb.stop()
