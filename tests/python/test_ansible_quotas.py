"""Ansible's netapp.ontap.na_ontap_quotas over ZAPI (use_rest=never) and over REST (the default
use_rest), with the runner and step helpers of test_ansible.py: every changing step runs twice,
the first run must report changed, the second must be a no-op. After each step the simulator's
state is read back (ZAPI: netapp-lib; REST: the REST API itself).

Steps, on each front: a volume and a qtree; the default tree rule with quotas turned on; a tree
rule with disk and file limits for the qtree; a change of its limits; a user rule; the tree rule
deleted; quotas turned off. Then, over ZAPI only (na_ontap_quota_policy has no REST path: it
takes the ZAPI-only connection arguments and calls quota-policy-* and vserver-modify), quota
policies: created without assignment, assigned (auto_assign), a rule in it through
na_ontap_quotas' `policy`, renamed with the assignment following, refused while assigned,
`default` assigned again and the policy deleted. Last, on both fronts, local UNIX users and
groups (na_ontap_unix_user, na_ontap_unix_group) and a user quota rule naming a user by name (an
unknown name refused, with 13115 over ZAPI).
"""

import json
import ssl
import urllib.request

import pytest

from rest_helpers import RestSim
from simproc import PASSWORD, SimProcess
from test_ansible import AnsibleRunner, records, run_ok, step, twice, zapi_call
from test_rest_ansible import RestAnsibleRunner

VSERVER = "svm1"
AGGR = "aggr1"
GIB = 1024**3


# --------------------------------------------------------------------------------------------
# ZAPI

ZVOL = "qvol"
ZQTREE = "qq1"


@pytest.fixture(scope="module")
def zsim(tmp_path_factory):
    work = tmp_path_factory.mktemp("ansible-quota-sim")
    proc = SimProcess(["--listen", "127.0.0.1:0", "--ephemeral"], log_path=work / "ontap-sim.stderr.log")
    try:
        yield proc
    finally:
        died = proc.proc.poll() is not None
        code = proc.stop()
        if died:
            pytest.fail(f"ontap-sim died during the tests (exit code {code}); stderr:\n"
                        f"{proc.stderr()[-5000:]}", pytrace=False)


@pytest.fixture(scope="module")
def zans(zsim, tmp_path_factory):
    return AnsibleRunner(zsim, tmp_path_factory.mktemp("ansible-quota-work"))


def zquota(**extra):
    return dict({"state": "present", "vserver": VSERVER, "volume": ZVOL}, **extra)


def zrules(sim):
    res = zapi_call(sim, "quota-list-entries-iter",
                    {"query": {"quota-entry": {"volume": ZVOL}}}, vserver=VSERVER)
    return {(r.get_child_content("quota-type"), r.get_child_content("quota-target")):
            (r.get_child_content("disk-limit"), r.get_child_content("file-limit"))
            for r in records(res, "quota-entry")}


def zstatus(sim):
    return zapi_call(sim, "quota-status", {"volume": ZVOL}, vserver=VSERVER).get_child_content("status")


def test_zapi_setup(zans, zsim):
    with step(zans, "z_setup"):
        run_ok(zans, "na_ontap_volume", True, state="present", vserver=VSERVER, name=ZVOL,
               aggregate_name=AGGR, size=10, size_unit="gb", junction_path=f"/{ZVOL}",
               use_rest="never")
        twice(zans, "na_ontap_qtree", state="present", vserver=VSERVER, flexvol_name=ZVOL,
              name=ZQTREE, unix_permissions="0755")


def test_zapi_default_rule_and_quota_on(zans, zsim):
    with step(zans, "z_default", "z_setup"):
        twice(zans, "na_ontap_quotas", **zquota(quota_target="", type="tree", set_quota_status=True))
        assert zrules(zsim) == {("tree", "*"): ("-", "-")}
        assert zstatus(zsim) == "on"


def test_zapi_tree_rule(zans, zsim):
    with step(zans, "z_tree", "z_default"):
        twice(zans, "na_ontap_quotas", **zquota(quota_target=f"/vol/{ZVOL}/{ZQTREE}", type="tree",
                                               disk_limit="1GB", file_limit="100"))
        assert zrules(zsim)[("tree", f"/vol/{ZVOL}/{ZQTREE}")] == ("1048576", "100")
        # The resize the module asked for put the rule in force: the report shows it.
        rep = zapi_call(zsim, "quota-report-iter", {"path": f"/vol/{ZVOL}/{ZQTREE}"}, vserver=VSERVER)
        rows = records(rep, "quota")
        assert [r.get_child_content("disk-limit") for r in rows] == ["1048576"]


def test_zapi_tree_rule_modify(zans, zsim):
    with step(zans, "z_modify", "z_tree"):
        twice(zans, "na_ontap_quotas", **zquota(quota_target=f"/vol/{ZVOL}/{ZQTREE}", type="tree",
                                               disk_limit="2GB", file_limit="100"))
        assert zrules(zsim)[("tree", f"/vol/{ZVOL}/{ZQTREE}")] == ("2097152", "100")


def test_zapi_user_rule(zans, zsim):
    with step(zans, "z_user", "z_default"):
        twice(zans, "na_ontap_quotas", **zquota(quota_target="root", type="user",
                                               soft_disk_limit="10MB", disk_limit="20MB"))
        assert zrules(zsim)[("user", "root")] == ("20480", "-")


def test_zapi_tree_rule_delete(zans, zsim):
    with step(zans, "z_delete", "z_tree"):
        twice(zans, "na_ontap_quotas", **zquota(state="absent", quota_target=f"/vol/{ZVOL}/{ZQTREE}",
                                               type="tree"))
        assert ("tree", f"/vol/{ZVOL}/{ZQTREE}") not in zrules(zsim)


def test_zapi_quota_off(zans, zsim):
    with step(zans, "z_off", "z_default"):
        twice(zans, "na_ontap_quotas", **zquota(set_quota_status=False))
        assert zstatus(zsim) == "off"


def zpolicies(sim):
    res = zapi_call(sim, "quota-policy-get-iter", {}, vserver=VSERVER)
    return [r.get_child_content("policy-name") for r in records(res, "quota-policy-info")]


def zassigned(sim):
    res = zapi_call(sim, "vserver-get-iter",
                    {"query": {"vserver-info": {"vserver-name": VSERVER}}})
    return [r.get_child_content("quota-policy") for r in records(res, "vserver-info")]


def zpolicy(**extra):
    return dict({"state": "present", "vserver": VSERVER}, **extra)


def test_zapi_policy_create_unassigned(zans, zsim):
    with step(zans, "z_pol_create", "z_setup"):
        twice(zans, "na_ontap_quota_policy", **zpolicy(name="qp_gold", auto_assign=False))
        assert zpolicies(zsim) == ["default", "qp_gold"]
        assert zassigned(zsim) == ["default"]


def test_zapi_policy_assign(zans, zsim):
    with step(zans, "z_pol_assign", "z_pol_create"):
        twice(zans, "na_ontap_quota_policy", **zpolicy(name="qp_gold"))
        assert zassigned(zsim) == ["qp_gold"]


def test_zapi_rule_in_a_named_policy(zans, zsim):
    with step(zans, "z_pol_rule", "z_pol_assign"):
        twice(zans, "na_ontap_quotas", **zquota(quota_target="", type="tree", policy="qp_gold",
                                               disk_limit="3GB"))
        res = zapi_call(zsim, "quota-list-entries-iter",
                        {"query": {"quota-entry": {"volume": ZVOL, "policy": "qp_gold"}}},
                        vserver=VSERVER)
        assert [(r.get_child_content("quota-target"), r.get_child_content("disk-limit"))
                for r in records(res, "quota-entry")] == [("*", "3145728")]


def test_zapi_policy_rename(zans, zsim):
    with step(zans, "z_pol_rename", "z_pol_assign"):
        twice(zans, "na_ontap_quota_policy", **zpolicy(name="qp_platinum", from_name="qp_gold"))
        assert zpolicies(zsim) == ["default", "qp_platinum"]
        # The assignment and the rules follow the rename.
        assert zassigned(zsim) == ["qp_platinum"]
        res = zapi_call(zsim, "quota-list-entries-iter",
                        {"query": {"quota-entry": {"policy": "qp_platinum"}}}, vserver=VSERVER)
        assert len(records(res, "quota-entry")) == 1


def test_zapi_policy_delete(zans, zsim):
    with step(zans, "z_pol_delete", "z_pol_rename"):
        # The module itself refuses to delete the assigned policy (it reads vserver-get-iter).
        res = zans.run("na_ontap_quota_policy", **zpolicy(state="absent", name="qp_platinum"))
        assert res.get("failed") and "assigned" in res.get("msg", ""), res
        twice(zans, "na_ontap_quota_policy", **zpolicy(name="default"))
        assert zassigned(zsim) == ["default"]
        twice(zans, "na_ontap_quota_policy", **zpolicy(state="absent", name="qp_platinum"))
        assert zpolicies(zsim) == ["default"]
        res = zapi_call(zsim, "quota-list-entries-iter",
                        {"query": {"quota-entry": {"volume": ZVOL}}}, vserver=VSERVER)
        assert {r.get_child_content("policy") for r in records(res, "quota-entry")} == {"default"}


# --------------------------------------------------------------------------------------------
# REST

RVOL = "rqvol"
RQTREE = "rqq1"


@pytest.fixture(scope="module")
def rsim(tmp_path_factory):
    s = RestSim(tmp_path_factory.mktemp("rest-ansible-quota"), 300)
    try:
        yield s
    finally:
        died = s.proc.proc.poll() is not None
        code = s.stop()
        if died or code != 0:
            pytest.fail(f"ontap-sim exited with {code}; stderr:\n{s.proc.stderr()[-5000:]}",
                        pytrace=False)


@pytest.fixture(scope="module")
def rans(rsim, tmp_path_factory):
    return RestAnsibleRunner(rsim, tmp_path_factory.mktemp("rest-ansible-quota-work"))


def rget(sim, path):
    ctx = ssl.create_default_context(cafile=str(sim.ca_path))
    req = urllib.request.Request(f"https://{sim.host}:{sim.port}{path}")
    import base64
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.load(r)


def rquota(**extra):
    return dict({"state": "present", "vserver": VSERVER, "volume": RVOL}, **extra)


def rrules(sim):
    doc = rget(sim, f"/api/storage/quota/rules?volume.name={RVOL}&fields=**")
    out = {}
    for r in doc.get("records", []):
        who = (r.get("qtree", {}).get("name", "") if r["type"] == "tree"
               else ",".join(u["name"] for u in r.get("users", [])))
        out[(r["type"], who)] = (r.get("space", {}).get("hard_limit"),
                                 r.get("files", {}).get("hard_limit"))
    return out


def rstate(sim):
    doc = rget(sim, f"/api/storage/volumes?name={RVOL}&fields=quota")
    return doc["records"][0]["quota"]["state"]


def test_rest_setup(rans, rsim):
    with step(rans, "r_setup"):
        run_ok(rans, "na_ontap_volume", True, state="present", vserver=VSERVER, name=RVOL,
               aggregate_name=AGGR, size=10, size_unit="gb", junction_path=f"/{RVOL}")
        twice(rans, "na_ontap_qtree", state="present", vserver=VSERVER, flexvol_name=RVOL,
              name=RQTREE, unix_permissions="0755")


def test_rest_default_rule_and_quota_on(rans, rsim):
    with step(rans, "r_default", "r_setup"):
        twice(rans, "na_ontap_quotas", **rquota(quota_target="", type="tree", set_quota_status=True))
        assert rrules(rsim) == {("tree", ""): (None, None)}
        assert rstate(rsim) == "on"


def test_rest_tree_rule(rans, rsim):
    with step(rans, "r_tree", "r_default"):
        twice(rans, "na_ontap_quotas", **rquota(quota_target=RQTREE, type="tree",
                                               disk_limit="1GB", file_limit="100"))
        assert rrules(rsim)[("tree", RQTREE)] == (GIB, 100)
        rep = rget(rsim, f"/api/storage/quota/reports?volume.name={RVOL}&qtree.name={RQTREE}&fields=**")
        assert [r["space"].get("hard_limit") for r in rep["records"]] == [GIB]


def test_rest_tree_rule_modify(rans, rsim):
    with step(rans, "r_modify", "r_tree"):
        twice(rans, "na_ontap_quotas", **rquota(quota_target=RQTREE, type="tree",
                                               disk_limit="2GB", file_limit="100"))
        assert rrules(rsim)[("tree", RQTREE)] == (2 * GIB, 100)


def test_rest_user_rule(rans, rsim):
    with step(rans, "r_user", "r_default"):
        twice(rans, "na_ontap_quotas", **rquota(quota_target="root", type="user",
                                               soft_disk_limit="10MB", disk_limit="20MB"))
        assert rrules(rsim)[("user", "root")] == (20 * 1024**2, None)


def test_rest_tree_rule_delete(rans, rsim):
    with step(rans, "r_delete", "r_tree"):
        twice(rans, "na_ontap_quotas", **rquota(state="absent", quota_target=RQTREE, type="tree"))
        assert ("tree", RQTREE) not in rrules(rsim)


def test_rest_quota_off(rans, rsim):
    with step(rans, "r_off", "r_default"):
        twice(rans, "na_ontap_quotas", **rquota(set_quota_status=False))
        assert rstate(rsim) == "off"


# --------------------------------------------------------------------------------------------
# Local UNIX users and groups (na_ontap_unix_user, na_ontap_unix_group), and quota user
# targets by name, on both fronts.

def zunix_users(sim):
    res = zapi_call(sim, "name-mapping-unix-user-get-iter", {}, vserver=VSERVER)
    return {r.get_child_content("user-name"): (r.get_child_content("user-id"),
                                               r.get_child_content("group-id"),
                                               r.get_child_content("full-name"))
            for r in records(res, "unix-user-info")}


def zunix_group_members(sim, name):
    res = zapi_call(sim, "name-mapping-unix-group-get-iter",
                    {"query": {"unix-group-info": {"group-name": name}}}, vserver=VSERVER)
    out = []
    for g in records(res, "unix-group-info"):
        users = g.get_child_by_name("users")
        out.append([u.get_child_content("user-name") for u in users.get_children()]
                   if users is not None else [])
    return out


def test_zapi_unix_user_and_group(zans, zsim):
    with step(zans, "z_unix", "z_setup"):
        twice(zans, "na_ontap_unix_user", state="present", vserver=VSERVER, name="qalice",
              id=5001, primary_gid=500, full_name="Alice Q", use_rest="never")
        assert zunix_users(zsim)["qalice"] == ("5001", "500", "Alice Q")
        twice(zans, "na_ontap_unix_user", state="present", vserver=VSERVER, name="qalice",
              id=5001, primary_gid=501, full_name="Alice Q", use_rest="never")
        assert zunix_users(zsim)["qalice"] == ("5001", "501", "Alice Q")
        # Seeded as ONTAP seeds them.
        assert {"root", "pcuser", "nobody"} <= set(zunix_users(zsim))
        twice(zans, "na_ontap_unix_group", state="present", vserver=VSERVER, name="qeng", id=500,
              users=["qalice"], use_rest="never")
        assert zunix_group_members(zsim, "qeng") == [["qalice"]]


def test_zapi_user_quota_by_name(zans, zsim):
    with step(zans, "z_user_by_name", "z_unix"):
        twice(zans, "na_ontap_quotas", **zquota(quota_target="qalice", type="user",
                                               disk_limit="5MB"))
        assert zrules(zsim)[("user", "qalice")] == ("5120", "-")
        # A name the SVM does not know is refused with ONTAP's errno, and nothing is made.
        res = zans.run("na_ontap_quotas", **zquota(quota_target="nosuchuser", type="user",
                                                  disk_limit="5MB"))
        assert res.get("failed") and "13115" in res.get("msg", ""), res
        assert ("user", "nosuchuser") not in zrules(zsim)
        twice(zans, "na_ontap_quotas", **zquota(state="absent", quota_target="qalice", type="user"))


def test_zapi_unix_user_and_group_delete(zans, zsim):
    with step(zans, "z_unix_delete", "z_unix"):
        twice(zans, "na_ontap_unix_group", state="absent", vserver=VSERVER, name="qeng",
              use_rest="never")
        twice(zans, "na_ontap_unix_user", state="absent", vserver=VSERVER, name="qalice",
              use_rest="never")
        assert "qalice" not in zunix_users(zsim)
        assert zunix_group_members(zsim, "qeng") == []


def test_rest_unix_user_and_group(rans, rsim):
    with step(rans, "r_unix", "r_setup"):
        twice(rans, "na_ontap_unix_user", state="present", vserver=VSERVER, name="rbob",
              id=6001, primary_gid=600, full_name="Bob R")
        doc = rget(rsim, "/api/name-services/unix-users?name=rbob&fields=id,primary_gid,full_name")
        assert [(r["id"], r["primary_gid"], r["full_name"]) for r in doc["records"]] == \
            [(6001, 600, "Bob R")]
        twice(rans, "na_ontap_unix_user", state="present", vserver=VSERVER, name="rbob",
              id=6001, primary_gid=601, full_name="Bob R")
        twice(rans, "na_ontap_unix_group", state="present", vserver=VSERVER, name="rops", id=600,
              users=["rbob"])
        doc = rget(rsim, "/api/name-services/unix-groups?name=rops&fields=id,users.name")
        assert [[u["name"] for u in r.get("users", [])] for r in doc["records"]] == [["rbob"]]


def test_rest_user_quota_by_name(rans, rsim):
    with step(rans, "r_user_by_name", "r_unix"):
        twice(rans, "na_ontap_quotas", **rquota(quota_target="rbob", type="user",
                                               disk_limit="5MB"))
        assert rrules(rsim)[("user", "rbob")] == (5 * 1024**2, None)
        res = rans.run("na_ontap_quotas", **rquota(quota_target="nosuchuser", type="user",
                                                  disk_limit="5MB"))
        assert res.get("failed"), res
        assert ("user", "nosuchuser") not in rrules(rsim)
        twice(rans, "na_ontap_quotas", **rquota(state="absent", quota_target="rbob", type="user"))


def test_rest_unix_user_and_group_delete(rans, rsim):
    with step(rans, "r_unix_delete", "r_unix"):
        twice(rans, "na_ontap_unix_group", state="absent", vserver=VSERVER, name="rops")
        twice(rans, "na_ontap_unix_user", state="absent", vserver=VSERVER, name="rbob")
        assert rget(rsim, "/api/name-services/unix-users?name=rbob")["num_records"] == 0
