"""Issue 12, point 10: the smaller holes, each a regression test that failed before the fix."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.config import parse_config
from mitigate.cli import main
from mitigate.errors import LocatedError


def test_a_repeated_protected_contexts_key_is_an_error_not_a_silent_override() -> None:
    """The second key erased the first list: protection silently gone."""
    text = 'protectedContexts: ["*prod*", "payments"]\nprotectedContexts: []\n'
    with pytest.raises(LocatedError) as info:
        parse_config(text, "config.yaml")
    assert str(info.value).startswith("config.yaml:2:1: duplicate key 'protectedContexts'")


def test_a_python_tag_in_config_is_one_located_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("protectedContexts: !!python/object/apply:os.system ['echo pwned']\n")
    monkeypatch.setenv("MITIGATE_CONFIG", str(config))
    code = main(["secrets", "list"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"{config}:1:" in err and "python/object" in err


def test_sandbox_serve_will_not_overwrite_a_kubeconfig_it_did_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "config"
    real.write_text("apiVersion: v1\nkind: Config\n# the responder's real clusters\n")
    before = real.read_text()
    code = main(["sandbox", "serve", "apiserver-oom", "--kubeconfig", str(real)])
    err = capsys.readouterr().err
    assert code == 2
    assert "refusing to overwrite" in err and "--overwrite" in err
    assert real.read_text() == before


def test_the_sandbox_recognises_the_kubeconfigs_it_wrote(tmp_path: Path) -> None:
    from integrations.sandbox import Sandbox
    from integrations.sandbox.sandbox import wrote_kubeconfig

    path = tmp_path / "kc"
    sb = Sandbox.start({"name": "tiny", "objects": []}, kubeconfig=path)
    try:
        assert wrote_kubeconfig(path)
    finally:
        sb.stop()
    assert not wrote_kubeconfig(tmp_path / "missing")


def test_secrets_set_says_when_the_keyring_stores_plaintext(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")  # type: ignore[misc]
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-value\n"))
        code = main(["secrets", "set", "demo-token"])
    finally:
        keyring.set_keyring(previous)
    err = capsys.readouterr().err
    assert code == 0
    assert "PLAINTEXT" in err and "keyring_pass.cfg" in err


def test_a_bogus_keyring_backend_is_a_one_line_error(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "no_such_module.Keyring", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "mitigate", "secrets", "set", "demo"], input="v\n",
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "no_such_module.Keyring" in proc.stderr


def test_validate_does_not_follow_symlinks_out_of_the_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "id_rsa.yaml"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n")
    (outside / "more.yaml").write_text("apiVersion: SECRET-FROM-ELSEWHERE\n")
    tree = tmp_path / "runbooks"
    tree.mkdir()
    (tree / "ok.yaml").write_text("apiVersion: mitigate/v1\nkind: Runbook\nmetadata: {name: ok, title: Ok, "
                                  "source: tests}\nsteps:\n  - {id: a, manual: x}\n")
    (tree / "evil.yaml").symlink_to(secret)
    (tree / "linked").symlink_to(outside, target_is_directory=True)
    code = main(["validate", str(tree)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 0, text
    assert "OPENSSH" not in text and "b3BlbnNz" not in text and "SECRET-FROM-ELSEWHERE" not in text
    assert "evil.yaml: skipped, a symlink out of" in text


def test_validate_echoes_the_offending_token_not_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('apiVersion: mitigate/v1\nkind: Runbook\nmetadata: {name: x, title: X, source: t}\n'
                    'steps: "first line\\nDB_PASSWORD=hunter2 and the rest of a pasted file"\n')
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "hunter2" not in err and "first line" in err


@pytest.mark.parametrize(("at", "tz"), [("0001-01-01 00:30", "+05:00"), ("9999-12-31 23:30", "-05:00"),
                                        ("0099-01-01 10:00", "UTC")])
def test_backdated_times_are_bounded_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  at: str, tz: str) -> None:
    """Year 1 or 9999 with an offset raised OverflowError (a traceback); year 99 wrote '99-01-01'."""
    from mitigate.journal import Journal

    root = tmp_path / "incidents"
    Journal.create(root, "inc-t").close()
    code = main(["--journal-dir", str(root), "journal", "add", "inc-t", "--at", at, f"--tz={tz}", "typed long ago"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "out of range" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_declared_time_is_always_rfc3339() -> None:
    from mitigate.journal.timeparse import resolve_declared

    assert resolve_declared("1970-01-01 00:00", "UTC").at == "1970-01-01T00:00:00.000000Z"


def test_a_port_the_scenario_overflows_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    """40 clusters from port 65530: bind() raised OverflowError, a traceback."""
    code = main(["sandbox", "serve", "revert-unscoped-changes", "--port", "65530"])
    err = capsys.readouterr().err
    assert code == 2
    assert "past 65535" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
