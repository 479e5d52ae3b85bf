"""Real kubectl 1.35 against the sandbox; every command's effect is read back from the state."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.sandbox import Sandbox
from tests.kubectl import kubectl_path, run_kubectl

from .helpers import SCENARIOS, wait_for


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Any]]:
    kubectl_path()
    sb = Sandbox.start(SCENARIOS / "small.yaml")
    home = tmp_path_factory.mktemp("kubectl-home")

    def k(*args: str, check: bool = True, input: str | None = None,
          old: bool = False) -> subprocess.CompletedProcess[str]:
        return run_kubectl(sb.kubeconfig, *args, home=home, check=check, input=input, old=old)

    yield sb, k
    sb.stop()


def _deploy(sb: Sandbox, name: str, replicas: int, image: str = "app:1") -> None:
    sb.cluster().create("deployments", {"metadata": {"name": name, "namespace": "default"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "main", "image": image}]}}}})
    wait_for(lambda: len(_pods(sb, name)) == replicas, what=f"{name} pods")


def _pods(sb: Sandbox, app: str) -> list[dict[str, Any]]:
    return sb.cluster().list("pods", "default", lambda p: p["metadata"].get("labels", {}).get("app") == app
                             and not p["metadata"].get("deletionTimestamp"))


def test_get_prints_server_columns_and_json(kc: Any) -> None:
    sb, k = kc
    out = k("get", "nodes").stdout.splitlines()
    assert out[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["node-0"][1] == "NotReady" and rows["node-1"][1:3] == ["Ready", "worker"]
    assert rows["node-1"][4] == "v1.29.0"
    pods = k("get", "pods", "-n", "shop").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and "1/1" in pods[1]
    everything = k("get", "all", "-n", "shop").stdout
    assert "deployment.apps/web" in everything and "replicaset.apps/web-" in everything
    assert k("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    doc = json.loads(k("get", "nodes", "-o", "json").stdout)
    assert doc["kind"] == "List" and sorted(i["metadata"]["name"] for i in doc["items"]) == [
        "node-0", "node-1", "node-2"]


def test_create_generators_send_protobuf_the_sandbox_decodes(kc: Any) -> None:
    """kubectl 1.32+ sends built-in objects as protobuf; each generator's object arrives whole."""
    sb, k = kc
    st = sb.cluster()
    k("create", "namespace", "gen")
    assert st.get("namespaces", "gen")["metadata"]["name"] == "gen"
    k("-n", "gen", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=8080")
    d = st.get("deployments", "web", "gen")
    assert d["spec"]["replicas"] == 3 and d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:1.27" and c["ports"] == [{"containerPort": 8080, "protocol": "TCP"}], c
    assert c["imagePullPolicy"] == "IfNotPresent" and d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    k("-n", "gen", "create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=empty=")
    assert st.get("configmaps", "cfg", "gen")["data"] == {"a": "1", "empty": ""}
    k("-n", "gen", "create", "secret", "generic", "pw", "--from-literal=p=s3cr\u00e9t")
    assert st.get("secrets", "pw", "gen")["data"] == {"p": base64.b64encode("s3cr\u00e9t".encode()).decode()}
    assert st.get("secrets", "pw", "gen")["type"] == "Opaque"
    k("-n", "gen", "create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080")
    svc = st.get("services", "np", "gen")["spec"]
    assert svc["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}]
    assert svc["clusterIP"].startswith("10.") and svc["clusterIPs"] == [svc["clusterIP"]]
    assert svc["sessionAffinity"] == "None" and svc["type"] == "NodePort"
    k("-n", "gen", "create", "ingress", "web", "--rule=shop.example.com/cart*=np:80")
    rule = st.get("ingresses", "web", "gen")["spec"]["rules"][0]  # IngressRuleValue is inlined
    assert rule["host"] == "shop.example.com" and rule["http"]["paths"][0]["backend"]["service"]["name"] == "np"
    out = json.loads(k("-n", "gen", "create", "deployment", "dry", "--image=x", "--dry-run=server", "-o",
                       "json").stdout)
    assert out["metadata"]["name"] == "dry" and st.find("deployments", "dry", "gen") is None
    # nothing was written for it (the simulation writes on: Leases, the web Deployment's rollout)
    assert not any(ev.obj["metadata"].get("name") == "dry" for ev in list(st.history))
    assert any(e.verb == "create" and e.dry_run and e.resource == "deployments" for e in sb.request_log)


def test_patch_three_types(kc: Any) -> None:
    sb, k = kc
    k("create", "configmap", "pc", "--from-literal=a=1")
    k("patch", "configmap", "pc", "-p", '{"data":{"b":"2"}}')
    k("patch", "configmap", "pc", "--type", "merge", "-p", '{"data":{"a":null}}')
    k("patch", "configmap", "pc", "--type", "json", "-p", '[{"op":"add","path":"/data/c","value":"3"}]')
    assert sb.cluster().get("configmaps", "pc", "default")["data"] == {"b": "2", "c": "3"}
    bad = k("patch", "configmap", "pc", "--type", "json", "-p", '[{"op":"test","path":"/data/b","value":"9"}]',
            check=False)
    assert bad.returncode != 0 and "invalid" in bad.stderr
    assert sb.cluster().get("configmaps", "pc", "default")["data"] == {"b": "2", "c": "3"}


def test_cordon_uncordon(kc: Any) -> None:
    sb, k = kc
    k("cordon", "node-2")
    assert sb.cluster().get("nodes", "node-2")["spec"]["unschedulable"] is True
    assert "SchedulingDisabled" in k("get", "node", "node-2").stdout
    k("uncordon", "node-2")
    assert not sb.cluster().get("nodes", "node-2")["spec"].get("unschedulable")


def test_scale_rollout_undo_and_delete(kc: Any) -> None:
    sb, k = kc
    _deploy(sb, "api", 1, image="api:1")
    k("scale", "deployment", "api", "--replicas=3")
    assert sb.cluster().get("deployments", "api", "default")["spec"]["replicas"] == 3
    wait_for(lambda: len(_pods(sb, "api")) == 3, what="3 api pods")
    k("set", "image", "deployment/api", "main=api:2")
    wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in _pods(sb, "api")} == {"api:2"}, what="api:2")
    k("rollout", "undo", "deployment/api")
    image = sb.cluster().get("deployments", "api", "default")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "api:1"
    wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in _pods(sb, "api")} == {"api:1"}, what="undo")
    rs = sb.cluster().list("replicasets", "default", lambda r: r["metadata"]["name"].startswith("api-"))
    assert len(rs) == 2  # the old ReplicaSet was reused, as the real controller does
    k("delete", "deployment", "api")
    wait_for(lambda: not _pods(sb, "api") and sb.cluster().find("deployments", "api", "default") is None,
             what="cascade delete")
    k("delete", "configmap", "pc", check=False)


def test_drain_ignores_daemonsets_and_evicts(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    st.delete("pdb", "web", "shop")  # eviction against a blocking PDB is covered by the client tests
    ds = st.create("daemonsets", {"metadata": {"name": "agent", "namespace": "default"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "a"}]}}}})
    st.create("pods", {"metadata": {"name": "agent-x", "namespace": "default", "labels": {"app": "agent"},
                                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                                         "uid": ds["metadata"]["uid"], "controller": True}]},
                       "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "a"}]}})
    st.create("pods", {"metadata": {"name": "scratch", "namespace": "default"},
                       "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "a"}],
                                "volumes": [{"name": "tmp", "emptyDir": {}}]}})
    _deploy(sb, "drainme", 2)
    k("drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=30s")
    on_node = [p for p in st.list("pods") if p["spec"].get("nodeName") == "node-1"
               and not p["metadata"].get("deletionTimestamp")]
    # only the DaemonSet's pod is left (its controller may have replaced agent-x, which lacks the
    # controller-revision-hash of the current template, with its own)
    assert on_node and all(p["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"] for p in on_node)
    assert st.get("nodes", "node-1")["spec"]["unschedulable"] is True
    assert any(e.resource == "pods/eviction" and e.status == 201 for e in sb.request_log)
    wait_for(lambda: len(_pods(sb, "drainme")) == 2, what="replacements elsewhere")
    assert all(p["spec"]["nodeName"] != "node-1" for p in _pods(sb, "drainme"))
    k("uncordon", "node-1")


def test_apply_three_way_merge(kc: Any, tmp_path: Path) -> None:
    sb, k = kc
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: '1'\n  b: '2'\n")
    k("apply", "-f", str(manifest))
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: '5'\n")
    k("apply", "-f", str(manifest))
    cm = sb.cluster().get("configmaps", "applied", "default")
    assert cm["data"] == {"a": "5"}  # the three-way merge removed b
    assert "kubectl.kubernetes.io/last-applied-configuration" in cm["metadata"]["annotations"]
    managers = {m["manager"] for m in cm["metadata"]["managedFields"]}
    assert managers & {"kubectl", "kubectl-client-side-apply"}, managers


def test_get_watch_with_request_timeout(kc: Any) -> None:
    sb, k = kc
    proc = subprocess.Popen([kubectl_path(), f"--kubeconfig={sb.kubeconfig}",
                             "get", "configmaps", "--watch", "--request-timeout=3s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"HOME": str(sb.kubeconfig.parent), "PATH": "/usr/bin:/bin"})
    # requests are logged when they finish: the initial list shows the watch is about to start
    wait_for(lambda: any(e.verb == "list" and e.resource == "configmaps" and "kubectl" in e.user_agent
                         for e in sb.request_log), timeout=10, what="kubectl list before its watch")
    time.sleep(0.5)
    sb.cluster().create("configmaps", {"metadata": {"name": "watched", "namespace": "default"}})
    out, _ = proc.communicate(timeout=20)
    assert "watched" in out
    assert out.splitlines()[0].split() == ["NAME", "AGE"]
    # the server logs the watch when it ends: when it notices kubectl hung up, which under load
    # can be a moment after kubectl has exited
    wait_for(lambda: any(e.verb == "watch" and e.resource == "configmaps" and e.status == 200
                         for e in sb.request_log), timeout=10, what="the watch request in the log")


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: nginx:1.27
        ports:
        - containerPort: {port}
"""


def test_manifest_commands_with_default_validation(kc: Any, tmp_path: Path) -> None:
    """create/apply/replace/edit/explain with kubectl's default --validate=strict (OpenAPI v3 + fieldValidation)."""
    sb, k = kc
    st = sb.cluster()
    m = tmp_path / "d.yaml"
    m.write_text(DEPLOY.format(name="mf", port=80))
    k("create", "-f", str(m))
    assert st.get("deployments", "mf", "default")["spec"]["replicas"] == 2
    m.write_text(DEPLOY.format(name="mf", port=81).replace("replicas: 2", "replicas: 4"))
    k("replace", "-f", str(m))
    assert st.get("deployments", "mf", "default")["spec"]["replicas"] == 4
    m.write_text(DEPLOY.format(name="mf", port=81).replace("nginx:1.27", "nginx:1.26"))
    k("apply", "-f", str(m))
    got = st.get("deployments", "mf", "default")["spec"]
    assert got["replicas"] == 2 and got["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"

    bad = tmp_path / "bad.yaml"
    bad.write_text(DEPLOY.format(name="typo", port='"eighty"'))
    proc = k("create", "-f", str(bad), check=False)
    assert proc.returncode != 0 and st.find("deployments", "typo", "default") is None
    assert ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into '
            "Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
            ) in proc.stderr
    bad.write_text(DEPLOY.format(name="typo", port=80).replace("  replicas: 2", "  replicas: 2\n  replica: 3"))
    proc = k("apply", "-f", str(bad), check=False)
    assert proc.returncode != 0 and 'strict decoding error: unknown field "spec.replica"' in proc.stderr
    assert st.find("deployments", "typo", "default") is None
    proc = k("apply", "--validate=warn", "-f", str(bad))
    assert 'Warning: unknown field "spec.replica"' in proc.stderr
    assert "replica" not in st.get("deployments", "typo", "default")["spec"]

    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/image: nginx:1.26/image: nginx:1.28/' \"$1\"\n")
    editor.chmod(0o755)
    env_k = run_kubectl_env(sb, tmp_path, {"KUBE_EDITOR": str(editor)})
    proc = env_k("edit", "deployment/mf")
    assert proc.returncode == 0, proc.stderr
    image = st.get("deployments", "mf", "default")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:1.28"

    out = k("explain", "deployment.spec.strategy.rollingUpdate.maxSurge").stdout
    assert "FIELD: maxSurge <" in out and "GROUP:      apps" in out and "Defaults to 25%" in out
    crd = tmp_path / "crd.yaml"
    crd.write_text("""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, description: how big the gadget is}
""")
    k("apply", "-f", str(crd))
    wait_for(lambda: "gadgets" in k("api-resources", "--api-group=example.com").stdout, what="gadgets served")
    assert "how big the gadget is" in k("explain", "gadgets.spec.size").stdout
    g = tmp_path / "g.yaml"
    g.write_text("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 3, colour: red}\n")
    proc = k("apply", "-f", str(g), check=False)
    assert proc.returncode != 0 and 'unknown field "spec.colour"' in proc.stderr
    g.write_text("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: big}\n")
    proc = k("apply", "-f", str(g), check=False)
    assert 'The Gadget "g1" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type ' \
        'integer: "string"' in proc.stderr, proc.stderr
    g.write_text("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 3}\n")
    k("apply", "-f", str(g))
    assert st.get("gadgets", "g1", "default")["spec"] == {"size": 3}


def run_kubectl_env(sb: Sandbox, tmp: Path, extra: dict[str, str]) -> Any:
    def k(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "KUBECONFIG": str(sb.kubeconfig), **extra}
        return subprocess.run([kubectl_path(), f"--cache-dir={tmp / 'kc'}", *args], env=env, capture_output=True,
                              text=True, timeout=60)
    return k


def test_generators_for_the_new_kinds_and_their_printing(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    k("create", "job", "once", "--image=busybox")
    assert st.get("jobs", "once", "default")["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"
    k("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *")
    assert st.get("cronjobs", "tick", "default")["spec"]["schedule"] == "*/5 * * * *"
    k("create", "role", "reader", "--verb=get,list", "--resource=pods")
    assert st.get("roles", "reader", "default")["rules"] == [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    k("create", "rolebinding", "reader", "--role=reader", "--user=bob")
    assert st.get("rolebindings", "reader", "default")["roleRef"]["name"] == "reader"
    k("create", "clusterrole", "noder", "--verb=get", "--resource=nodes")
    k("create", "clusterrolebinding", "noder", "--clusterrole=noder", "--group=ops")
    assert st.get("clusterrolebindings", "noder")["subjects"][0]["name"] == "ops"
    k("-n", "shop", "autoscale", "deployment", "web", "--min=2", "--max=5")
    assert st.get("horizontalpodautoscalers", "web", "shop")["spec"]["maxReplicas"] == 5
    hpa = k("-n", "shop", "get", "hpa").stdout.splitlines()
    assert hpa[0].split()[:2] == ["NAME", "REFERENCE"] and hpa[1].split()[1] == "Deployment/web"
    jobs = k("get", "cronjobs,jobs").stdout
    assert "cronjob.batch/tick" in jobs and "job.batch/once" in jobs
    assert "*.*" in k("auth", "can-i", "--list").stdout
    assert "Username" in k("auth", "whoami").stdout

    wide = k("-n", "shop", "get", "deploy,rs", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-2:] == ["nginx:1.25", "app=web"], wide
    scale = k("-n", "shop", "get", "deploy", "web", "--subresource=scale").stdout.splitlines()
    assert scale[0].split() == ["NAME", "DESIRED", "AVAILABLE"] and scale[1].split()[0] == "web"


def test_get_nodes_counts_unknown_ready_as_notready(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    node = st.get("nodes", "node-2")
    conds = [dict(c, status="Unknown", reason="NodeStatusUnknown") if c.get("type") == "Ready" else c
             for c in node["status"]["conditions"]]
    st.put("nodes", dict(node, status=dict(node["status"], conditions=conds)))
    rows = k("get", "nodes", "--no-headers").stdout.splitlines()
    statuses = {r.split()[0]: r.split()[1] for r in rows}
    assert statuses["node-2"] == "NotReady" and statuses["node-1"] == "Ready"
    assert sum(1 for s in statuses.values() if s.startswith("NotReady")) == 2  # node-0 (False) and node-2
    st.put("nodes", node)


def test_invalid_names_labels_and_immutable_fields_refused_with_the_real_messages(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    bad = k("create", "configmap", "Bad_Name", check=False)
    assert bad.returncode != 0 and ('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                    "a lowercase RFC 1123 subdomain must consist of") in bad.stderr
    bad = k("create", "namespace", "two.parts", check=False)
    assert 'The Namespace "two.parts" is invalid' in bad.stderr and "RFC 1123 label" in bad.stderr
    bad = k("create", "service", "clusterip", "9lives", "--tcp=80", check=False)
    assert "a DNS-1035 label must consist of" in bad.stderr
    bad = k("create", "role", "a/b", "--verb=get", "--resource=pods", check=False)
    assert "metadata.name: Invalid value: \"a/b\": may not contain '/'" in bad.stderr
    bad = k("-n", "shop", "label", "deploy", "web", "bad!key=x", check=False)
    assert 'The Deployment "web" is invalid: metadata.labels: Invalid value: "bad!key": name part must' in bad.stderr
    assert "bad!key" not in st.get("deployments", "web", "shop")["metadata"].get("labels", {})
    before = st.get("deployments", "web", "shop")["spec"]["selector"]
    bad = k("-n", "shop", "patch", "deploy", "web", "-p", '{"spec":{"selector":{"matchLabels":{"app":"x"}}}}',
            check=False)
    assert "spec.selector: Invalid value:" in bad.stderr and "field is immutable" in bad.stderr
    assert st.get("deployments", "web", "shop")["spec"]["selector"] == before
    pod = next(p for p in st.list("pods", "shop") if not p["metadata"].get("deletionTimestamp"))
    name = pod["metadata"]["name"]
    cname = pod["spec"]["containers"][0]["name"]
    bad = k("-n", "shop", "patch", "pod", name, "-p",
            json.dumps({"spec": {"containers": [{"name": cname, "workingDir": "/x"}]}}), check=False)
    assert "pod updates may not change fields other than `spec.containers[*].image`" in bad.stderr
    k("-n", "shop", "patch", "pod", name, "-p", json.dumps({"spec": {"containers": [{"name": cname,
                                                                                  "image": "nginx:9"}]}}))
    bad = k("create", "configmap", "listname", "--dry-run=client", "-o", "json").stdout
    body = json.loads(bad)
    body["metadata"]["name"] = ["a", "b"]
    proc = k("create", "-f", "-", input=json.dumps(body), check=False)
    assert proc.returncode != 0 and "cannot unmarshal array into Go struct field ObjectMeta.metadata.name of type " \
        "string" in proc.stderr


def test_field_selectors_as_the_api_server_parses_them(kc: Any) -> None:
    sb, k = kc
    bad = k("get", "pods", "--field-selector=spec.bogus=1", check=False)
    assert bad.returncode != 0 and "field label not supported: spec.bogus" in bad.stderr
    names = k("get", "nodes", "--field-selector=spec.unschedulable=false", "-o", "name").stdout.split()
    assert len(names) == sb.cluster().count("nodes")  # nodes without the field match false
    st = sb.cluster()
    st.create("events", {"metadata": {"name": "web.1", "namespace": "shop"}, "reason": "ScalingReplicaSet",
                         "message": "Scaled up replica set web-x to 2", "type": "Normal",
                         "involvedObject": {"kind": "Deployment", "apiVersion": "apps/v1", "name": "web",
                                            "namespace": "shop"}})
    out = k("-n", "shop", "events", "--for", "deploy/web").stdout  # involvedObject.apiVersion=apps/v1
    assert "ScalingReplicaSet" in out and "Scaled up replica set web-x to 2" in out


def test_server_side_apply_conflicts_unless_forced(kc: Any, tmp_path: Path) -> None:
    sb, k = kc
    st = sb.cluster()
    m = tmp_path / "ssa.yaml"
    m.write_text(DEPLOY.format(name="ssa", port=80))
    k("apply", "--server-side", "--field-manager=alice", "-f", str(m))
    m.write_text(DEPLOY.format(name="ssa", port=80).replace("replicas: 2", "replicas: 3"))
    proc = k("apply", "--server-side", "--field-manager=bob", "-f", str(m), check=False)
    assert proc.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice" using apps/v1: .spec.replicas' in proc.stderr
    assert st.get("deployments", "ssa", "default")["spec"]["replicas"] == 2
    m.write_text(DEPLOY.format(name="ssa", port=80))  # the same values: shared ownership, no conflict
    k("apply", "--server-side", "--field-manager=carol", "-f", str(m))
    m.write_text(DEPLOY.format(name="ssa", port=80).replace("replicas: 2", "replicas: 3"))
    k("apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", str(m))
    d = st.get("deployments", "ssa", "default")
    assert d["spec"]["replicas"] == 3
    owners = {e["manager"]: e["fieldsV1"] for e in d["metadata"]["managedFields"]}
    assert "f:replicas" in owners["bob"]["f:spec"]
    assert "f:replicas" not in owners["alice"]["f:spec"] and "f:replicas" not in owners["carol"]["f:spec"]
    assert "f:selector" in owners["alice"]["f:spec"]  # the rest stays shared


def test_old_client_validates_against_openapi_v2_protobuf(kc: Any, tmp_path: Path) -> None:
    """kubectl 1.20 reads /openapi/v2 as gnostic protobuf only, and validates on the client."""
    sb, k = kc
    m = tmp_path / "old.yaml"
    m.write_text(DEPLOY.format(name="oldc", port=80))
    k("apply", "-f", str(m), old=True)
    assert sb.cluster().get("deployments", "oldc", "default")["spec"]["replicas"] == 2
    m.write_text(DEPLOY.format(name="oldc", port=80).replace("  replicas: 2", "  replicas: 2\n  replica: 3"))
    proc = k("apply", "-f", str(m), check=False, old=True)
    assert 'ValidationError(Deployment.spec): unknown field "replica" in io.k8s.api.apps.v1.DeploymentSpec' \
        in proc.stderr
    out = k("explain", "deployment.spec.replicas", old=True).stdout
    assert "FIELD:    replicas <integer>" in out and "Defaults to 1." in out


def _pb_fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """The (field, value) pairs of one protobuf message: length-delimited as bytes, varints as ints."""
    out: list[tuple[int, bytes | int]] = []
    i = 0

    def varint() -> int:
        nonlocal i
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(data):
        key = varint()
        if key & 7 == 2:
            size = varint()
            out.append((key >> 3, data[i:i + size]))
            i += size
        else:
            out.append((key >> 3, varint()))
    return out


def test_openapi_v2_protobuf_has_the_json_documents_paths(kc: Any) -> None:
    sb, _ = kc
    with httpx.Client(base_url=sb.url("sandbox"), verify=False,
                      headers={"Authorization": f"Bearer {sb.token}"}) as h:
        as_json = h.get("/openapi/v2").json()
        raw = h.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    doc = dict(_pb_fields(raw.content))
    paths = {}
    for field, named in _pb_fields(doc[8]):  # Document.paths -> Paths.path (NamedPathItem)
        assert field == 2 and isinstance(named, bytes)
        item = dict(_pb_fields(named))
        paths[item[1].decode()] = _pb_fields(item[2])
    assert list(paths) == list(as_json["paths"]) and len(paths) > 60
    methods = {2: "get", 3: "put", 4: "post", 5: "delete", 8: "patch"}
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert sorted(methods[f] for f, _ in item if f in methods) == sorted(
        m for m in as_json["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"] if m != "parameters")
    get = dict(_pb_fields(next(v for f, v in item if f == 2)))
    assert get[5] == b"getAppsV1Deployment"  # Operation.operation_id
    ext = [dict(_pb_fields(v)) for f, v in _pb_fields(next(v for f, v in item if f == 2)) if f == 13]
    assert {e[1]: dict(_pb_fields(e[2]))[2] for e in ext}[b"x-kubernetes-action"] == b"get\n"
    params = [dict(_pb_fields(dict(_pb_fields(dict(_pb_fields(v))[1]))[2])) for f, v in item if f == 9]
    assert [dict(_pb_fields(p[4]))[4] for p in params if 4 in p] == [b"name", b"namespace"]  # path parameters


def test_drill_fleet_notready_nodes_counted_by_grep(tmp_path: Path) -> None:
    """The replace-notready-nodes drill: 72 of 600 kubelets stopped posting (Ready=Unknown)."""
    drill = Path(__file__).resolve().parents[2] / "runbooks/drills/replace-notready-nodes.yaml"
    with Sandbox.start(drill) as sb:
        out = run_kubectl(sb.kubeconfig, "get", "nodes", "--no-headers", home=tmp_path).stdout
    rows = out.splitlines()
    assert len(rows) == 600
    assert sum(1 for r in rows if r.split()[1].startswith("NotReady")) == 72
