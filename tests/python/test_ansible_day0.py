"""Day 0 with Ansible: from a cluster that has only a node and aggregates
(deploy/topologies/empty-cluster.toml), netapp.ontap builds an SVM, a data LIF, the NFS service,
an export policy with a rule and a volume mounted at a junction path, once over ZAPI
(`use_rest: never`) and once over REST (`use_rest: always`), each on a fresh simulator. Every task
runs twice: the first run must change something, the second nothing (changed=false). Then a
custom role for Trident and a user with it on the new SVM, the lab's volume steps as that user, and
a call the role does not allow, refused with ONTAP's error.
The state is then read back from the simulator over the other front's eyes: ZAPI `vserver-get-iter`
and the REST NFS service."""

import json
import urllib.request
import ssl

import pytest

from simproc import SimProcess, REPO_ROOT
from test_ansible import twice
from test_ansible_roles import REST_ROLE, USER_PASSWORD, ZAPI_ROLE, RoleRunner, refused

EMPTY = REPO_ROOT / "deploy" / "topologies" / "empty-cluster.toml"
SVM = "svm_day0"
GIB = 1024**3


@pytest.fixture(params=["never", "always"])
def day0(request, tmp_path):
    proc = SimProcess(
        ["--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0",
         "--state-dir", tmp_path / "state", "--config", EMPTY],
        log_path=tmp_path / "ontap-sim.stderr.log",
    )
    try:
        yield RoleRunner(proc, tmp_path, request.param), proc
    finally:
        proc.stop()


def rest_get(proc, path):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(f"https://{proc.host}:{proc.port}/api{path}")
    import base64
    req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:netapp1!").decode())
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)


def test_day0_playbook_builds_the_lab_twice(day0):
    ans, proc = day0
    # The empty cluster has no SVM at all.
    assert rest_get(proc, "/svm/svms")["num_records"] == 0
    twice(ans, "na_ontap_svm", name=SVM, aggr_list=["aggr1"], language="c.utf_8",
          comment="made on day 0")
    twice(ans, "na_ontap_interface", vserver=SVM, interface_name="data1", interface_type="ip",
          address="127.0.0.1", netmask="255.0.0.0", home_node="cluster1-01", home_port="e0a",
          role="data", protocols=["nfs"], admin_status="up")
    twice(ans, "na_ontap_nfs", vserver=SVM, service_state="started", nfsv3="enabled",
          nfsv4="disabled", nfsv41="disabled")
    twice(ans, "na_ontap_export_policy", vserver=SVM, name="lab")
    twice(ans, "na_ontap_export_policy_rule", vserver=SVM, name="lab",
          client_match=["0.0.0.0/0"], ro_rule=["sys"], rw_rule=["sys"], protocol=["nfs3"],
          super_user_security=["sys"])
    twice(ans, "na_ontap_volume", vserver=SVM, name="labvol", aggregate_name="aggr1", size=1,
          size_unit="gb", junction_path="/labvol", export_policy="lab", space_guarantee="none")

    svms = rest_get(proc, "/svm/svms?fields=aggregates,comment,nfs,state")["records"]
    assert [(s["name"], s["state"], s["comment"]) for s in svms] == [(SVM, "running", "made on day 0")]
    assert [a["name"] for a in svms[0]["aggregates"]] == ["aggr1"]
    assert svms[0]["nfs"] == {"allowed": True, "enabled": True}
    lifs = rest_get(proc, "/network/ip/interfaces?fields=ip,enabled,svm.name")["records"]
    assert [(l["name"], l["ip"]["address"], l["enabled"]) for l in lifs] == [("data1", "127.0.0.1", True)]
    nfs = rest_get(proc, "/protocols/nfs/services?fields=enabled,protocol.v3_enabled")["records"]
    assert [(n["svm"]["name"], n["enabled"], n["protocol"]["v3_enabled"]) for n in nfs] == [(SVM, True, True)]
    vols = rest_get(proc, f"/storage/volumes?svm.name={SVM}&fields=nas.path,nas.export_policy.name")["records"]
    got = sorted((v["name"], v["nas"].get("path"), v["nas"]["export_policy"]["name"]) for v in vols)
    assert got == [("labvol", "/labvol", "lab"), (f"{SVM}_root", "/", "default")]

    # Then Trident's least-privilege account on the new SVM, and the lab's volume steps as it:
    # the same role the roles test uses (command directories over ZAPI, REST paths over REST).
    user = "trident_day0"
    if ans.use_rest == "never":
        for directory, access in ZAPI_ROLE:
            twice(ans, "na_ontap_user_role", state="present", vserver=SVM, name="trident",
                  command_directory_name=directory, access_level=access)
        application = "ontapi"
    else:
        twice(ans, "na_ontap_user_role", state="present", vserver=SVM, name="trident",
              privileges=REST_ROLE)
        application = "http"
    twice(ans, "na_ontap_user", state="present", vserver=SVM, name=user,
          applications=[application], authentication_method="password", role_name="trident",
          set_password=USER_PASSWORD)
    ans.as_user = (user, USER_PASSWORD)
    try:
        args = dict(state="present", vserver=SVM, name="pvc1", aggregate_name="aggr1", size=1,
                    size_unit="gb", junction_path="/pvc1", export_policy="lab",
                    space_guarantee="none")
        twice(ans, "na_ontap_volume", **args)
        twice(ans, "na_ontap_volume", **dict(args, size=2))
        twice(ans, "na_ontap_snapshot", state="present", vserver=SVM, volume="pvc1",
              snapshot="snap1")
        twice(ans, "na_ontap_volume", state="absent", vserver=SVM, name="pvc1")
    finally:
        ans.as_user = None
    # A call the role does not allow is refused with ONTAP's error, and changes nothing.
    if ans.use_rest == "never":
        refused(ans, user, "na_ontap_user",
                ["13003", f"Insufficient privileges: user '{user}' does not have read access"],
                state="present", vserver=SVM, name="intruder", applications=["ontapi"],
                authentication_method="password", role_name="vsadmin",
                set_password="Intruder123")
        accounts = rest_get(proc, "/security/accounts?name=intruder")
    else:
        refused(ans, user, "na_ontap_export_policy", ["not authorized for that command"],
                state="present", vserver=SVM, name="not_mine")
        accounts = rest_get(proc, f"/protocols/nfs/export-policies?svm.name={SVM}&name=not_mine")
    assert accounts["num_records"] == 0, accounts
