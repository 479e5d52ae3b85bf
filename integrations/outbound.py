"""The ports of ``http`` and ``command`` steps: calls to cloud/vendor APIs and local programs.

``HttpSender`` sends one rendered request through the shared :mod:`integrations.http`
discipline (timeouts; retries only for idempotent methods, so a POST that may have arrived
is never sent twice). The credential is read from the keyring here, by name, and every
secret value is masked in what comes back.

``LocalCommands`` runs an argv list with ``subprocess`` and no shell (``shell=False``, stdin
closed), to completion or its timeout, and returns the exit code and the interleaved output,
capped and with secrets masked. The program is resolved on ``PATH`` first so the confirmation
shows the exact file that will run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from mitigate.errors import MitigateError
from mitigate.ports import CommandCall, CommandReply, HttpCall, HttpReply

from . import secrets
from .http import HttpClient, RetryPolicy

BODY_CAP = 4096
OUTPUT_CAP = 64_000
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


def auth_value(call: HttpCall) -> str:
    """The header value for the call's credential (reads the keyring; SecretError when missing)."""
    assert call.auth_secret is not None
    secret = secrets.get_secret(call.auth_secret)
    if call.auth_scheme == "Basic" and ":" in secret:
        import base64

        secret = base64.b64encode(secret.encode()).decode()
        secrets.remember(secret)
    return f"{call.auth_scheme} {secret}" if call.auth_scheme else secret


@dataclass
class HttpSender:
    """HttpPort over httpx; ``transport`` is injectable for tests."""

    transport: Any = None
    records_only: bool = False
    _clients: dict[float, HttpClient] = field(default_factory=dict)

    def _client(self, timeout: float) -> HttpClient:
        if timeout not in self._clients:
            self._clients[timeout] = HttpClient(RetryPolicy(timeout=timeout, max_attempts=3,
                                                            budget=max(timeout * 3, 30.0)),
                                                transport=self.transport)
        return self._clients[timeout]

    def send(self, call: HttpCall) -> HttpReply:
        headers = dict(call.headers)
        if call.auth_secret:
            headers[call.auth_header] = auth_value(call)
        result = self._client(call.timeout).request(
            call.method, call.url, idempotent=call.method in IDEMPOTENT, json=call.json, headers=headers,
            timeout=call.timeout)
        if result.response is None:
            return HttpReply(None, error=secrets.redact(result.error),
                             uncertain="may have been received" in result.error)
        body = secrets.redact(result.response.text[:BODY_CAP])
        return HttpReply(result.response.status_code, body=body)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


@dataclass
class LocalCommands:
    """CommandPort running local programs (never through a shell)."""

    records_only: bool = False

    def resolve(self, program: str) -> str:
        if os.sep in program:
            path = os.path.abspath(program)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise MitigateError(f"command {program!r} is not an executable file")
            return path
        found = shutil.which(program)
        if found is None:
            raise MitigateError(f"command {program!r} is not on PATH")
        return os.path.abspath(found)

    def run(self, call: CommandCall) -> CommandReply:
        try:
            program = self.resolve(call.argv[0])
        except MitigateError as exc:
            return CommandReply(None, error=str(exc))
        env = {**os.environ, **dict(call.env)}
        try:
            done = subprocess.run([program, *call.argv[1:]], shell=False, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=call.cwd, env=env,
                                  timeout=call.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            out = _text(exc.stdout)
            return CommandReply(None, output=out, error=f"timed out after {call.timeout:g}s (killed)",
                                program=program)
        except OSError as exc:
            return CommandReply(None, error=f"cannot run {program}: {exc.strerror or exc}", program=program)
        return CommandReply(done.returncode, output=_text(done.stdout), program=program)


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) > OUTPUT_CAP:
        text = text[:OUTPUT_CAP] + f"\n… {len(text) - OUTPUT_CAP:,} more characters not kept"
    return str(secrets.redact(text))
