"""A Secret's values never reach a diff or a printed kubectl line (issue 12, point 7): its keys
are shown with a fingerprint (size and short hash), so a change stays visible."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from integrations.kube import KubeCluster, render
from mitigate.ports import ActionRequest
from tests.kube.helpers import CTX

TLS_KEY = base64.b64encode(b"-----BEGIN PRIVATE KEY-----planted-key").decode()
DOCKER = base64.b64encode(b'{"auths":{"r":{"auth":"planted-docker"}}}').decode()


def _secret(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "tls", "namespace": "shop"}, "data": data}


def test_a_secret_diff_shows_keys_and_fingerprints_only() -> None:
    before = _secret(**{"tls.key": TLS_KEY, ".dockerconfigjson": DOCKER})
    after = _secret(**{"tls.key": base64.b64encode(b"other").decode(), ".dockerconfigjson": DOCKER})
    text = render.diff(before, after, "Secret/shop/tls")
    assert TLS_KEY not in text and DOCKER not in text and "planted" not in text
    assert "tls.key" in text and ".dockerconfigjson" in text and "sha256:" in text
    assert "-  tls.key" in text and "+  tls.key" in text  # the changed value is visible as a change


def test_deleting_a_secret_previews_and_prints_no_value(sb: Any, backups: Path) -> None:
    kc = KubeCluster.from_kubeconfig(sb.kubeconfig, qps=200, burst=50)
    secret = _secret(**{"tls.key": TLS_KEY, "tls.crt": DOCKER})
    create = kc.prepare(ActionRequest(CTX, "create", {"manifest": secret}))
    assert create.execute().ok
    assert not [line for line in create.kubectl() if TLS_KEY in line or DOCKER in line]
    delete = kc.prepare(ActionRequest(CTX, "delete", {"apiVersion": "v1", "kind": "Secret", "namespace": "shop",
                                                      "names": ["tls"]}, backup_dir=str(backups)))
    preview = delete.preview()
    assert TLS_KEY not in preview.diff and DOCKER not in preview.diff and "tls.key" in preview.diff
