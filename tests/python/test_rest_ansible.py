"""Ansible's netapp.ontap modules over the REST front, with the collection's default `use_rest`
(always): no `use_rest` argument is passed, so every module talks to `/api/...` only.

The runner and the step helpers are those of test_ansible.py (the ZAPI tests): each
state-changing step runs twice, the first run must report changed, the second must be a no-op
(idempotence depends on the simulator returning the fields and formats the modules compare).
After each step the simulator's state is read back with netapp-ontap, and the simulator's request
journal must show REST calls and not a single ZAPI call.

Topology: tests/python/topology.toml with `[cluster] job_duration_ms = 500`, so the modules' jobs
take time and their `return_timeout` waits are exercised. Steps build on each other (volume ->
snapshot/qtree -> info -> deletes); a step whose prerequisite failed fails at once naming it.
"""

import json
import urllib.request

import pytest
from netapp_ontap.resources import ExportPolicy, ExportRule, Qtree, Snapshot, Volume

from rest_helpers import RestSim, connect
from test_ansible import AnsibleRunner, run_ok, step, twice

GIB = 1024**3
VSERVER = "svm1"
AGGR = "aggr1"
VOL = "rvol1"
POLICY = "rpol1"
SNAP = "rsnap1"
SNAP_RENAMED = "rsnap2"
QTREE = "rqt1"
QTREE_RENAMED = "rqt2"

RULE = {
    "client_match": ["0.0.0.0/0"],
    "ro_rule": ["sys"],
    "rw_rule": ["sys"],
    "protocol": ["nfs3"],
    "super_user_security": ["sys"],
}


class RestAnsibleRunner(AnsibleRunner):
    """The ZAPI tests' runner without `use_rest=never`; after every run, the simulator's journal
    must hold new REST calls and no ZAPI call."""

    def __init__(self, sim, workdir):
        super().__init__(sim, workdir)
        admin = [line.split()[1] for line in sim.proc.banner if line.split()[:1] == ["admin"]]
        assert admin, f"no admin line in the banner:\n{''.join(sim.proc.banner)}"
        self.admin = admin[0]

    def connection_args(self):
        args = super().connection_args()
        del args["use_rest"]
        return args

    def journal(self, front):
        with urllib.request.urlopen(f"{self.admin}/journal?front={front}&limit=100000") as r:
            return json.load(r)

    def run(self, module, **args):
        rest_before = len(self.journal("rest"))
        res = super().run(module, **args)
        zapi = self.journal("zapi")
        assert not zapi, f"netapp.ontap.{module} made ZAPI calls: {[e['api'] for e in zapi]}"
        assert len(self.journal("rest")) > rest_before, f"netapp.ontap.{module} made no REST call"
        return res


@pytest.fixture(scope="module")
def rest_sim(tmp_path_factory):
    s = RestSim(tmp_path_factory.mktemp("rest-ansible"), 500)
    try:
        yield s
    finally:
        died = s.proc.proc.poll() is not None
        code = s.stop()
        if died or code != 0:
            pytest.fail(f"ontap-sim exited with {code}; stderr:\n{s.proc.stderr()[-5000:]}",
                        pytrace=False)


@pytest.fixture(scope="module")
def ans(rest_sim, tmp_path_factory):
    return RestAnsibleRunner(rest_sim, tmp_path_factory.mktemp("rest-ansible-work"))


@pytest.fixture(scope="module")
def ontap(rest_sim):
    """A netapp-ontap connection for reading the state back."""
    return connect(rest_sim)


@pytest.fixture(autouse=True)
def _alive(rest_sim):
    yield
    if not rest_sim.proc.alive():
        pytest.fail(f"ontap-sim died during this test; stderr:\n{rest_sim.proc.stderr()[-5000:]}",
                    pytrace=False)


def get_volume(ontap, name=VOL):
    return Volume.find(connection=ontap, name=name, fields="size,nas,state,comment,aggregates",
                       **{"svm.name": VSERVER})


def get_policy(ontap, name=POLICY):
    return ExportPolicy.find(connection=ontap, name=name, fields="rules",
                             **{"svm.name": VSERVER})


def vol_args(**extra):
    return dict({"vserver": VSERVER, "name": VOL}, **extra)


def create_vol_args(size_gb, **changes):
    return vol_args(**dict(dict(state="present", aggregate_name=AGGR, size=size_gb,
                                size_unit="gb", junction_path=f"/{VOL}", export_policy="default",
                                comment="made by Ansible"), **changes))


def rule_args(**extra):
    return dict({"vserver": VSERVER, "name": POLICY}, **extra)


def info(ans, subset, **extra):
    res = run_ok(ans, "na_ontap_rest_info", False, gather_subset=[subset], **extra)
    data = res["ontap_info"].get(subset)
    assert isinstance(data, dict), f"{subset}: {data!r}"
    return data


# --------------------------------------------------------------------------------------------
# Tests (in order; later steps use the objects earlier steps created)


def test_rest_info_default_subsets(ans):
    """na_ontap_rest_info with no gather_subset: cluster/software, svm/svms, cluster/nodes."""
    with step(ans, "reach"):
        res = run_ok(ans, "na_ontap_rest_info", False)
        data = res["ontap_info"]
        assert data["cluster/software"]["version"] == "9.14.1", data["cluster/software"]
        assert [s["name"] for s in data["svm/svms"]["records"]] == ["svm1", "svm2"]
        assert [n["name"] for n in data["cluster/nodes"]["records"]] == ["cluster1-01"]


def test_volume_create(ans, ontap):
    with step(ans, "volume_create", "reach"):
        first, _ = twice(ans, "na_ontap_volume", **create_vol_args(10))
        assert first.get("actions") == ["create"], first
        v = get_volume(ontap)
        assert v is not None, "netapp-ontap does not find the volume after create"
        assert v.size == 10 * GIB and v.state == "online" and v.comment == "made by Ansible"
        assert v.nas.path == f"/{VOL}" and v.nas.export_policy.name == "default"
        assert v.aggregates[0].name == AGGR


def test_volume_resize(ans, ontap):
    with step(ans, "volume_resize", "volume_create"):
        first, _ = twice(ans, "na_ontap_volume", **create_vol_args(20))
        assert first.get("modify") == {"size": 20 * GIB}, first.get("modify")
        assert get_volume(ontap).size == 20 * GIB


def test_export_policy(ans, ontap):
    with step(ans, "export_policy", "reach"):
        twice(ans, "na_ontap_export_policy", state="present", vserver=VSERVER, name=POLICY)
        p = get_policy(ontap)
        assert p is not None and p.rules == []


def test_volume_junction_policy_comment(ans, ontap):
    """One run changes the junction path, the export policy and the comment."""
    with step(ans, "volume_modify", "volume_resize", "export_policy"):
        first, _ = twice(ans, "na_ontap_volume", **create_vol_args(
            20, junction_path=f"/{VOL}_moved", export_policy=POLICY, comment="changed by Ansible"))
        assert first.get("modify") == {"junction_path": f"/{VOL}_moved", "export_policy": POLICY,
                                       "comment": "changed by Ansible"}, first.get("modify")
        v = get_volume(ontap)
        assert (v.nas.path, v.nas.export_policy.name, v.comment) == (
            f"/{VOL}_moved", POLICY, "changed by Ansible")


def test_export_rule_create(ans, ontap):
    with step(ans, "rule_create", "export_policy"):
        twice(ans, "na_ontap_export_policy_rule", state="present", **rule_args(**RULE))
        rules = get_policy(ontap).rules
        assert len(rules) == 1, rules
        r = rules[0]
        assert r.index == 1 and [c.match for c in r.clients] == ["0.0.0.0/0"]
        assert (r.protocols, r.ro_rule, r.rw_rule, r.superuser) == (
            ["nfs3"], ["sys"], ["sys"], ["sys"])


def test_snapshot_create(ans, ontap):
    with step(ans, "snapshot_create", "volume_create"):
        twice(ans, "na_ontap_snapshot", state="present", vserver=VSERVER, volume=VOL,
              snapshot=SNAP, comment="by Ansible")
        v = get_volume(ontap)
        snaps = list(Snapshot.get_collection(v.uuid, connection=ontap, fields="comment"))
        assert [(s.name, s.comment) for s in snaps] == [(SNAP, "by Ansible")]


def test_qtree_create(ans, ontap):
    with step(ans, "qtree_create", "volume_create"):
        twice(ans, "na_ontap_qtree", state="present", vserver=VSERVER, flexvol_name=VOL,
              name=QTREE, security_style="unix", unix_permissions="0755", export_policy="default")
        qs = list(Qtree.get_collection(connection=ontap, fields="security_style,unix_permissions",
                                       **{"volume.name": VOL, "svm.name": VSERVER}))
        # As on ONTAP, the volume's own qtree (id 0, name "") is listed first.
        assert [(q.id, q.name) for q in qs][:1] == [(0, "")]
        assert [(q.name, q.security_style, q.unix_permissions) for q in qs[1:]] == [
            (QTREE, "unix", 755)]


# -- na_ontap_rest_info ----------------------------------------------------------------------


def test_info_volumes(ans):
    with step(ans, "info_volume", "volume_modify"):
        data = info(ans, "storage/volumes", fields=["size", "nas.path", "svm.name"])
        mine = [r for r in data["records"] if r["name"] == VOL]
        assert data["num_records"] == len(data["records"]) >= 3
        assert len(mine) == 1, data["records"]
        assert mine[0]["size"] == 20 * GIB and mine[0]["nas"]["path"] == f"/{VOL}_moved"
        assert mine[0]["svm"]["name"] == VSERVER


def test_info_export_policies_and_rules(ans):
    with step(ans, "info_export", "rule_create"):
        data = info(ans, "protocols/nfs/export-policies", fields=["rules", "svm.name"])
        names = sorted((r["svm"]["name"], r["name"]) for r in data["records"])
        assert ("svm1", POLICY) in names and ("svm1", "default") in names, names
        data = info(ans, "protocols/nfs/export-policies/rules",
                    owning_resource={"policy_name": POLICY, "svm_name": VSERVER, "rule_index": 1})
        assert data["index"] == 1 and data["clients"] == [{"match": "0.0.0.0/0"}], data


def test_info_snapshots_of_a_volume(ans):
    with step(ans, "info_snapshot", "snapshot_create"):
        data = info(ans, "storage/volumes/snapshots",
                    owning_resource={"volume_name": VOL, "svm_name": VSERVER})
        assert [r["name"] for r in data["records"]] == [SNAP]


def test_info_inventory(ans):
    with step(ans, "info_inventory", "qtree_create"):
        assert [r["name"] for r in info(ans, "storage/aggregates")["records"]] == [AGGR]
        lifs = info(ans, "network/ip/interfaces", fields=["ip.address"])["records"]
        assert {r["name"]: r["ip"]["address"] for r in lifs} == {
            "svm1_data1": "127.0.0.1", "svm2_data1": "127.0.0.2"}
        qtrees = info(ans, "storage/qtrees")["records"]
        # Each volume's own qtree (id 0, name "") is listed too, as on ONTAP.
        assert [q["name"] for q in qtrees if q["name"]] == [QTREE]
        jobs = info(ans, "cluster/jobs", fields=["state"])["records"]
        assert jobs and all(j["state"] == "success" for j in jobs), jobs


# -- modifications and deletions ---------------------------------------------------------------


def test_export_rule_modify(ans, ontap):
    with step(ans, "rule_modify", "rule_create"):
        first, _ = twice(ans, "na_ontap_export_policy_rule", state="present",
                         **rule_args(rule_index=1, rw_rule=["none"]))
        assert first.get("modify") == {"rw_rule": ["none"]}, first.get("modify")
        rules = get_policy(ontap).rules
        assert [(r.index, r.rw_rule, r.ro_rule) for r in rules] == [(1, ["none"], ["sys"])]


def test_export_rule_delete(ans, ontap):
    rw = ["sys"] if "rule_modify" in ans.failed_steps else ["none"]
    with step(ans, "rule_delete", "rule_create"):
        # Matched by attributes (no rule_index).
        twice(ans, "na_ontap_export_policy_rule", state="absent",
              **rule_args(**dict(RULE, rw_rule=rw)))
        p = get_policy(ontap)
        assert p.rules == [] and list(ExportRule.get_collection(p.id, connection=ontap)) == []


def test_snapshot_rename(ans, ontap):
    with step(ans, "snapshot_rename", "snapshot_create"):
        twice(ans, "na_ontap_snapshot", state="present", vserver=VSERVER, volume=VOL,
              snapshot=SNAP_RENAMED, from_name=SNAP)
        v = get_volume(ontap)
        assert [s.name for s in Snapshot.get_collection(v.uuid, connection=ontap)] == [
            SNAP_RENAMED]


def test_snapshot_delete(ans, ontap):
    name = SNAP if "snapshot_rename" in ans.failed_steps else SNAP_RENAMED
    with step(ans, "snapshot_delete", "snapshot_create"):
        twice(ans, "na_ontap_snapshot", state="absent", vserver=VSERVER, volume=VOL, snapshot=name)
        v = get_volume(ontap)
        assert list(Snapshot.get_collection(v.uuid, connection=ontap)) == []


def test_qtree_rename(ans, ontap):
    with step(ans, "qtree_rename", "qtree_create"):
        twice(ans, "na_ontap_qtree", state="present", vserver=VSERVER, flexvol_name=VOL,
              name=QTREE_RENAMED, from_name=QTREE)
        qs = list(Qtree.get_collection(connection=ontap, **{"volume.name": VOL}))
        assert [q.name for q in qs if q.name] == [QTREE_RENAMED]


def test_qtree_delete(ans, ontap):
    name = QTREE if "qtree_rename" in ans.failed_steps else QTREE_RENAMED
    with step(ans, "qtree_delete", "qtree_create"):
        twice(ans, "na_ontap_qtree", state="absent", vserver=VSERVER, flexvol_name=VOL, name=name)
        assert [q.name for q in Qtree.get_collection(connection=ontap, **{"volume.name": VOL})
                if q.name] == []


def test_volume_offline(ans, ontap):
    with step(ans, "volume_offline", "volume_create"):
        first, _ = twice(ans, "na_ontap_volume", **vol_args(state="present", is_online=False))
        assert first.get("modify") == {"is_online": False}, first.get("modify")
        assert get_volume(ontap).state == "offline"


def test_volume_delete(ans, ontap):
    with step(ans, "volume_delete", "volume_create"):
        twice(ans, "na_ontap_volume", **vol_args(state="absent"))
        assert get_volume(ontap) is None, "the volume is still listed after delete"


def test_export_policy_delete(ans, ontap):
    with step(ans, "export_policy_delete", "export_policy", "volume_delete"):
        twice(ans, "na_ontap_export_policy", state="absent", vserver=VSERVER, name=POLICY)
        assert get_policy(ontap) is None
