"""Day 0 through real clients, on a simulator started from the empty topology
(deploy/topologies/empty-cluster.toml: one node, two aggregates, no SVM):

- netapp-lib (ZAPI): `vserver-*`, `net-interface-*`, `nfs-service-*` / `nfs-enable` / `nfs-disable`
  / `nfs-status`, with ONTAP's errnos for refusals (duplicate SVM 13130, duplicate LIF 17, SVM
  holding volumes 13001, unknown aggregate 14420).
- netapp-ontap (REST): `Svm` (create and delete are jobs the library polls), `IpInterface`,
  `NfsService`, with ONTAP's documented codes (SVM name in use 13434908, duplicate LIF name
  1966140, duplicate address 1376963).
- Cross-front: an SVM made over REST is used over ZAPI (a volume is made in it) and one made over
  ZAPI is seen over REST with the same UUID.
- The NFS front obeys the NFS service: with NFS disabled the SVM's LIF drops NFS connections; with
  it enabled a NULL call is answered.
- Restart: SVMs, LIFs and NFS services made at runtime come back with the same UUIDs.
"""

import socket
import struct

import pytest
from netapp_lib.api.zapi import zapi
from netapp_ontap import config
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import IpInterface, Job, NfsService, Svm, Volume

from rest_helpers import connect
from simproc import PASSWORD, REPO_ROOT, SimProcess

EMPTY = REPO_ROOT / "deploy" / "topologies" / "empty-cluster.toml"


class Day0Sim:
    def __init__(self, workdir):
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.ca_path = self.state_dir / "certs" / "ca.pem"
        self.start()

    def start(self):
        self.proc = SimProcess(
            ["--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0", "--portmap-listen",
             "127.0.0.1:0", "--state-dir", self.state_dir, "--config", EMPTY],
            log_path=self.workdir / "ontap-sim.stderr.log",
        )
        self.host, self.port = self.proc.host, self.proc.port
        nfs = [l.split()[1] for l in self.proc.banner if l.split()[:1] == ["NFS"]]
        assert nfs, f"no NFS line in the banner: {self.proc.banner}"
        host, port = nfs[0].rsplit(":", 1)
        self.nfs = (host, int(port))

    def restart(self):
        assert self.proc.stop() == 0
        self.start()

    def server(self, vserver=None):
        s = zapi.NaServer(self.host, server_type="filer", transport_type="https",
                          style="basic_auth", username="admin", password=PASSWORD, port=self.port)
        s.set_api_version(major=1, minor=110)
        if vserver:
            s.set_vserver(vserver)
        s.set_timeout(10)
        return s

    def zapi(self, name, vserver=None, /, **children):
        el = zapi.NaElement(name)
        for k, v in children.items():
            if isinstance(v, zapi.NaElement):
                el.add_child_elem(v)
            else:
                el.add_new_child(k.replace("_", "-"), str(v))
        return self.server(vserver).invoke_successfully(el, enable_tunneling=vserver is not None)

    def zapi_errno(self, name, vserver=None, /, **children):
        with pytest.raises(zapi.NaApiError) as e:
            self.zapi(name, vserver, **children)
        return int(e.value.code), e.value.message


@pytest.fixture(scope="module")
def d0(tmp_path_factory):
    import ssl
    saved_ctx = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    s = Day0Sim(tmp_path_factory.mktemp("day0-clients"))
    saved = config.CONNECTION
    config.CONNECTION = connect(s)
    try:
        yield s
    finally:
        config.CONNECTION = saved
        ssl._create_default_https_context = saved_ctx
        s.proc.stop()


def lst(name, child, values):
    el = zapi.NaElement(name)
    for v in values:
        el.add_new_child(child, v)
    return el


def rpc_null(addr):
    """An NFSv3 NULL call over TCP: the reply's accept status, or None when the server closes
    the connection without answering."""
    call = struct.pack(">IIIIII", 0x1234, 0, 2, 100003, 3, 0) + struct.pack(">IIII", 0, 0, 0, 0)
    with socket.create_connection(addr, timeout=10) as s:
        try:
            s.sendall(struct.pack(">I", 0x80000000 | len(call)) + call)
            head = s.recv(4)
        except (ConnectionResetError, BrokenPipeError):
            return None
        if len(head) < 4:
            return None
        n = struct.unpack(">I", head)[0] & 0x7FFFFFFF
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                return None
            body += chunk
        xid, mtype, reply_stat = struct.unpack(">III", body[:12])
        assert (xid, mtype, reply_stat) == (0x1234, 1, 0)
        return struct.unpack(">I", body[20:24])[0]


def test_zapi_families_with_netapp_lib(d0):
    d0.zapi("vserver-create", vserver_name="zsvm", root_volume="zsvm_root",
            root_volume_aggregate="aggr1", root_volume_security_style="unix", language="c.utf_8")
    assert d0.zapi_errno("vserver-create", vserver_name="zsvm")[0] == 13130
    assert d0.zapi_errno("vserver-create", vserver_name="zsvm2",
                         root_volume_aggregate="nope")[0] == 14420
    d0.zapi("vserver-modify", vserver_name="zsvm", aggr_list=lst("aggr-list", "aggr-name", ["aggr1", "aggr2"]),
            allowed_protocols=lst("allowed-protocols", "protocol", ["nfs"]), comment="zapi")
    q = zapi.NaElement("query")
    q.add_child_elem(zapi.NaElement.create_node_with_children("vserver-info", **{"vserver-name": "zsvm"}))
    info = d0.zapi("vserver-get-iter", query=q).get_child_by_name("attributes-list").get_child_by_name("vserver-info")
    assert info.get_child_content("root-volume") == "zsvm_root"
    assert [a.get_content() for a in info.get_child_by_name("aggr-list").get_children()] == ["aggr1", "aggr2"]
    assert [p.get_content() for p in info.get_child_by_name("allowed-protocols").get_children()] == ["nfs"]
    assert info.get_child_content("comment") == "zapi"

    d0.zapi("net-interface-create", vserver="zsvm", interface_name="zlif", role="data",
            home_node="cluster1-01", home_port="e0a", address="127.0.0.1", netmask="255.0.0.0",
            data_protocols=lst("data-protocols", "data-protocol", ["nfs"]))
    assert d0.zapi_errno("net-interface-create", vserver="zsvm", interface_name="zlif",
                         address="127.0.0.9", netmask="255.0.0.0")[0] == 17
    assert d0.zapi_errno("net-interface-create", vserver="zsvm", interface_name="zlif2",
                         address="127.0.0.1", netmask="255.0.0.0")[0] == 13130

    # No NFS service yet: the LIF drops NFS connections.
    assert rpc_null(d0.nfs) is None
    assert d0.zapi("nfs-status", "zsvm").get_child_content("is-enabled") == "false"
    d0.zapi("nfs-service-create", "zsvm")
    assert d0.zapi_errno("nfs-service-create", "zsvm")[0] == 13130
    assert rpc_null(d0.nfs) == 0  # SUCCESS
    d0.zapi("nfs-service-modify", "zsvm", is_nfsv41_enabled="true")
    nfs = d0.zapi("nfs-service-get-iter").get_child_by_name("attributes-list").get_children()
    assert [(n.get_child_content("vserver"), n.get_child_content("is-nfsv41-enabled")) for n in nfs] == [("zsvm", "true")]
    d0.zapi("nfs-disable", "zsvm")
    assert rpc_null(d0.nfs) is None
    d0.zapi("nfs-enable", "zsvm")
    d0.zapi("nfs-service-modify", "zsvm", is_nfsv3_enabled="false")
    assert rpc_null(d0.nfs) is None
    d0.zapi("nfs-service-modify", "zsvm", is_nfsv3_enabled="true")
    assert rpc_null(d0.nfs) == 0

    # A LIF taken down refuses too.
    d0.zapi("net-interface-modify", vserver="zsvm", interface_name="zlif", administrative_status="down")
    assert rpc_null(d0.nfs) is None
    d0.zapi("net-interface-modify", vserver="zsvm", interface_name="zlif", administrative_status="up")

    # An SVM holding a volume cannot be destroyed.
    d0.zapi("volume-create", "zsvm", volume="zv1", containing_aggr_name="aggr1", size="100m")
    errno, reason = d0.zapi_errno("vserver-destroy", vserver_name="zsvm")
    assert errno == 13001 and "zv1" in reason
    d0.zapi("vserver-stop", vserver_name="zsvm")
    d0.zapi("vserver-start", vserver_name="zsvm")
    d0.zapi("vserver-rename", vserver_name="zsvm", new_name="zsvm_r")
    q = zapi.NaElement("query")
    q.add_child_elem(zapi.NaElement.create_node_with_children("volume-attributes", **{}))
    vols = d0.zapi("volume-get-iter", "zsvm_r").get_child_by_name("attributes-list").get_children()
    assert sorted(v.get_child_by_name("volume-id-attributes").get_child_content("name") for v in vols) == ["zsvm_root", "zv1"]


def test_rest_families_with_netapp_ontap(d0):
    svm = Svm(name="rsvm", aggregates=[{"name": "aggr2"}], comment="rest")
    svm.post(poll=True)
    svm.get(fields="uuid,aggregates,comment,nfs,state")
    assert svm.comment == "rest" and svm.state == "running"
    before = {j.uuid for j in Job.get_collection()}
    with pytest.raises(NetAppRestError) as e:
        Svm(name="rsvm").post(poll=True)
    assert "Job failed" in str(e.value) and "already exists" in str(e.value)
    failed = [j for j in Job.get_collection(fields="state,code") if j.uuid not in before]
    assert [(j.state, j.code) for j in failed] == [("failure", 13434908)]

    lif = IpInterface(name="rlif", svm={"name": "rsvm"}, ip={"address": "127.0.0.2", "netmask": "8"},
                      location={"home_port": {"name": "e0a", "node": {"name": "cluster1-01"}}},
                      service_policy={"name": "default-data-files"})
    lif.post()
    lif.get(fields="ip,enabled,service_policy")
    assert (lif.ip.address, lif.ip.netmask, lif.enabled) == ("127.0.0.2", "8", True)
    for body, code in [({"name": "rlif", "ip": {"address": "127.0.0.3", "netmask": "8"}}, "1966140"),
                       ({"name": "rlif3", "ip": {"address": "127.0.0.2", "netmask": "8"}}, "1376963")]:
        with pytest.raises(NetAppRestError) as e:
            IpInterface(svm={"name": "rsvm"}, location={"home_node": {"name": "cluster1-01"}}, **body).post()
        assert e.value.response_body["error"]["code"] == code

    nfs = NfsService(svm={"name": "rsvm"}, protocol={"v3_enabled": True, "v41_enabled": True})
    nfs.post()
    got = NfsService(svm={"uuid": svm.uuid})
    got.get(fields="enabled,protocol.v3_enabled,protocol.v41_enabled")
    assert (got.enabled, got.protocol.v3_enabled, got.protocol.v41_enabled) == (True, True, True)

    # Cross-front: the REST SVM takes a volume over ZAPI; the ZAPI SVM is seen over REST.
    d0.zapi("volume-create", "rsvm", volume="xv1", containing_aggr_name="aggr2", size="100m")
    assert Volume.find(name="xv1", **{"svm.name": "rsvm"}) is not None
    zsvm = Svm.find(name="zsvm_r")
    assert zsvm is not None
    q = zapi.NaElement("query")
    q.add_child_elem(zapi.NaElement.create_node_with_children("vserver-info", **{"vserver-name": "zsvm_r"}))
    info = d0.zapi("vserver-get-iter", query=q).get_child_by_name("attributes-list").get_child_by_name("vserver-info")
    assert info.get_child_content("uuid") == zsvm.uuid


def test_runtime_objects_survive_a_restart(d0):
    before = {s.name: s.uuid for s in Svm.get_collection()}
    lifs = {l.name: l.uuid for l in IpInterface.get_collection()}
    assert set(before) == {"zsvm_r", "rsvm"} and set(lifs) == {"zlif", "rlif"}
    d0.restart()
    config.CONNECTION = connect(d0)
    assert {s.name: s.uuid for s in Svm.get_collection()} == before
    assert {l.name: l.uuid for l in IpInterface.get_collection()} == lifs
    got = NfsService(svm={"uuid": before["rsvm"]})
    got.get(fields="protocol.v41_enabled")
    assert got.protocol.v41_enabled is True
    assert rpc_null(d0.nfs) == 0  # zlif serves zsvm_r's NFS again

    # Deleting: the REST SVM's volume goes first, then the SVM (a job), its LIF with it.
    d0.zapi("volume-offline", "rsvm", name="xv1")
    d0.zapi("volume-destroy", "rsvm", name="xv1")
    Svm(uuid=before["rsvm"]).delete(poll=True)
    assert [s.name for s in Svm.get_collection()] == ["zsvm_r"]
    assert [l.name for l in IpInterface.get_collection()] == ["zlif"]
    d0.restart()
    config.CONNECTION = connect(d0)
    assert [s.name for s in Svm.get_collection()] == ["zsvm_r"]


def test_dns_and_cluster_identity_on_both_fronts(d0):
    from netapp_ontap.resources import Cluster, Dns

    # DNS over ZAPI (tunnelled into the SVM): missing is 15661, a second create 13130.
    assert d0.zapi_errno("net-dns-get", "zsvm_r")[0] == 15661
    d0.zapi("net-dns-create", "zsvm_r", domains=lst("domains", "string", ["lab.example"]),
            name_servers=lst("name-servers", "ip-address", ["192.0.2.53"]))
    assert d0.zapi_errno("net-dns-create", "zsvm_r", domains=lst("domains", "string", ["x.example"]),
                         name_servers=lst("name-servers", "ip-address", ["192.0.2.9"]))[0] == 13130
    assert d0.zapi_errno("net-dns-create", "zsvm_r", domains=lst("domains", "string", ["x.example"]),
                         name_servers=lst("name-servers", "ip-address", ["not-an-ip"]))[0] == 13115
    d0.zapi("net-dns-modify", "zsvm_r", name_servers=lst("name-servers", "ip-address", ["192.0.2.54"]))
    # ... seen over REST, changed there, seen again over ZAPI.
    svm = Svm.find(name="zsvm_r")
    dns = Dns(svm={"uuid": svm.uuid})
    dns.get()
    assert (dns.domains, dns.servers) == (["lab.example"], ["192.0.2.54"])
    dns.domains = ["lab.example", "corp.example"]
    dns.patch()
    info = d0.zapi("net-dns-get", "zsvm_r").get_child_by_name("attributes").get_child_by_name("net-dns-info")
    assert [d.get_content() for d in info.get_child_by_name("domains").get_children()] == ["lab.example", "corp.example"]
    dns.delete()
    assert d0.zapi_errno("net-dns-get", "zsvm_r")[0] == 15661

    # Identity: ZAPI modify, REST patch (a job), both read back; a restart keeps them.
    d0.zapi("cluster-identity-modify", cluster_location="rack 7", cluster_contact="ops@lab")
    c = Cluster()
    c.get(fields="name,location,contact")
    assert (c.name, c.location, c.contact) == ("cluster1", "rack 7", "ops@lab")
    c.name = "lab1"
    c.patch(poll=True)
    info = d0.zapi("cluster-identity-get").get_child_by_name("attributes").get_child_by_name("cluster-identity-info")
    assert info.get_child_content("cluster-name") == "lab1"
    # A cluster may not take an SVM's name.
    assert d0.zapi_errno("cluster-identity-modify", cluster_name="zsvm_r")[0] == 13130
    d0.restart()
    config.CONNECTION = connect(d0)
    c = Cluster()
    c.get(fields="name,location,contact")
    assert (c.name, c.location, c.contact) == ("lab1", "rack 7", "ops@lab")
    c.name = "cluster1"
    c.patch(poll=True)
    c = Cluster()
    c.get(fields="name")
    assert c.name == "cluster1"


def test_licenses_on_both_fronts(d0):
    from netapp_ontap.resources import LicensePackage

    def status():
        out = d0.zapi("license-v2-status-list-info").get_child_by_name("license-v2-status")
        return {i.get_child_content("package"): i.get_child_content("method") for i in out.get_children()}

    # The cluster comes with the base and protocol licenses.
    st = status()
    assert all(st[p] == "license" for p in ("base", "nfs", "cifs", "iscsi", "fcp", "flexclone"))
    assert st["snapvault"] == "none" and st["nvme_of"] == "none"
    listed = d0.zapi("license-v2-list-info").get_child_by_name("licenses").get_children()
    assert "nfs" in [l.get_child_content("package") for l in listed]
    # A key that is not this cluster's is refused and nothing changes.
    assert d0.zapi_errno("license-v2-add", codes=lst("codes", "license-code-v2",
                                                     ["SIMSNAPVAULTXXXXXXXXXXXXXXXX", "ABC"]))[0] == 13115
    assert status()["snapvault"] == "none"
    d0.zapi("license-v2-add", codes=lst("codes", "license-code-v2", ["simsnapvaultxxxxxxxxxxxxxxxx"]))
    assert status()["snapvault"] == "license"
    # Over REST: only licensed packages by default, every package with a state filter.
    names = [p.name for p in LicensePackage.get_collection()]
    assert "snapvault" in names and "nvme_of" not in names
    allp = {p.name: p.state for p in LicensePackage.get_collection(state="compliant,unlicensed", fields="state")}
    assert allp["nvme_of"] == "unlicensed" and allp["nfs"] == "compliant"
    LicensePackage(keys=["SIMNVMEOFXXXXXXXXXXXXXXXXXXX"]).post()
    assert status()["nvme_of"] == "license"
    d0.restart()
    config.CONNECTION = connect(d0)
    assert status()["nvme_of"] == "license" and status()["snapvault"] == "license"
    LicensePackage(name="nvme_of").delete()
    d0.zapi("license-v2-delete", package="snapvault")
    assert status()["nvme_of"] == "none" and status()["snapvault"] == "none"
    assert d0.zapi_errno("license-v2-delete", package="base")[0] == 13115
