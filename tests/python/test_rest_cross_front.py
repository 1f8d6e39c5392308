"""One model behind two fronts: objects made over ZAPI (netapp-lib) are read, changed and deleted
over REST (netapp-ontap), and the reverse, with the same identities on both fronts: volume
`instance-uuid` and REST `uuid`, snapshot `snapshot-instance-uuid` and `uuid`, export policy
`policy-id` and `id`, rule indexes, qtree ids, SVM, aggregate, node, LIF and job UUIDs.

Uses the session simulator of conftest.py (tests/python/topology.toml; jobs end at once).
"""

import pytest
from netapp_ontap import config
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import (
    Aggregate,
    Cluster,
    ExportPolicy,
    ExportRule,
    IpInterface,
    Job,
    Node,
    Qtree,
    Snapshot,
    Svm,
    Volume,
)

from rest_helpers import Sweep, connect
from test_zapi_netapp_lib import child, records
from zapi_helpers import api

SVM = "svm1"
MIB = 1024**2


@pytest.fixture(scope="module", autouse=True)
def rest(sim):
    saved = config.CONNECTION
    config.CONNECTION = connect(sim)
    try:
        yield config.CONNECTION
    finally:
        config.CONNECTION = saved


@pytest.fixture(autouse=True)
def _sweep(sim, rest):
    """Whatever a test made is gone before the next test starts, even when the test failed."""
    sweep = Sweep(rest)
    yield
    if sim.proc.alive():
        sweep.clean()


def z(sim, name, inputs=None, vserver=SVM):
    """A ZAPI call as admin, tunnelled to svm1 unless `vserver` is None."""
    return sim.invoke(api(name, inputs), vserver=vserver)


def z_volume(sim, name):
    """The volume-attributes of `name` in svm1 over ZAPI, or None."""
    res = z(sim, "volume-get-iter", {"query": {"volume-attributes": {
        "volume-id-attributes": {"name": name, "vserver": SVM}}}})
    found = records(res)
    assert len(found) <= 1
    return found[0] if found else None


def text(el, *path):
    return child(el, *path).get_content()


def z_snapshots(sim, volume):
    res = z(sim, "snapshot-get-iter", {"query": {"snapshot-info": {"volume": volume,
                                                                   "vserver": SVM}}})
    return {r.get_child_content("name"): r.get_child_content("snapshot-instance-uuid")
            for r in records(res)}


def z_policy_id(sim, name):
    res = z(sim, "export-policy-get-iter", {"query": {"export-policy-info": {
        "policy-name": name, "vserver": SVM}}})
    found = records(res)
    return int(found[0].get_child_content("policy-id")) if found else None


def z_rules(sim, policy):
    res = z(sim, "export-rule-get-iter", {"query": {"export-rule-info": {
        "policy-name": policy, "vserver-name": SVM}}})
    out = {}
    for r in records(res):
        rw = child(r, "rw-rule")
        out[int(r.get_child_content("rule-index"))] = (
            r.get_child_content("client-match"), [c.get_content() for c in rw.get_children()])
    return out


def rest_status(call):
    with pytest.raises(NetAppRestError) as info:
        call()
    return info.value.status_code, info.value.response_body["error"]["code"]


def test_inventory_has_the_same_uuids(sim):
    res = z(sim, "vserver-get-iter", vserver=None)
    zsvms = {r.get_child_content("vserver-name"): r.get_child_content("uuid")
             for r in records(res)}
    for s in Svm.get_collection():
        assert zsvms[s.name] == s.uuid, s.name
    c = Cluster()
    c.get()
    assert zsvms["cluster1"] == c.uuid  # the admin vserver is the cluster
    res = z(sim, "aggr-get-iter", vserver=None)
    zaggrs = {r.get_child_content("aggregate-name"): r.get_child_content("aggregate-uuid")
              for r in records(res)}
    assert {a.name: a.uuid for a in Aggregate.get_collection()} == zaggrs
    res = z(sim, "system-node-get-iter", vserver=None)
    znodes = {r.get_child_content("node"): r.get_child_content("node-uuid") for r in records(res)}
    assert {n.name: n.uuid for n in Node.get_collection()} == znodes
    res = z(sim, "net-interface-get-iter", vserver=None)
    zlifs = {r.get_child_content("interface-name"): r.get_child_content("lif-uuid")
             for r in records(res)}
    assert {i.name: i.uuid for i in IpInterface.get_collection()} == zlifs


def test_volume_from_zapi_read_modified_deleted_over_rest(sim):
    name = "xf_from_zapi"
    z(sim, "volume-create", {"volume": name, "containing-aggr-name": "aggr1",
                             "size": str(200 * MIB), "junction-path": f"/{name}",
                             "export-policy": "default", "volume-comment": "made over ZAPI"})
    zv = z_volume(sim, name)
    uuid = text(zv, "volume-id-attributes", "instance-uuid")

    v = Volume.find(name=name, fields="size,nas,comment,aggregates,state",
                    **{"svm.name": SVM})
    assert v.uuid == uuid
    assert (v.size, v.nas.path, v.comment, v.state) == (
        200 * MIB, f"/{name}", "made over ZAPI", "online")
    assert v.aggregates[0].name == text(zv, "volume-id-attributes", "containing-aggregate-name")
    assert v.nas.export_policy.name == "default"
    assert v.nas.export_policy.id == z_policy_id(sim, "default")

    v.size = 300 * MIB
    v.comment = "changed over REST"
    v.patch()
    zv = z_volume(sim, name)
    assert text(zv, "volume-space-attributes", "size") == str(300 * MIB)
    assert text(zv, "volume-id-attributes", "comment") == "changed over REST"
    assert text(zv, "volume-id-attributes", "instance-uuid") == uuid

    v.delete()
    assert z_volume(sim, name) is None


def test_volume_from_rest_read_modified_deleted_over_zapi(sim):
    name = "xf_from_rest"
    before = {j.uuid for j in Job.get_collection()}
    v = Volume(name=name, svm={"name": SVM}, aggregates=[{"name": "aggr1"}], size=100 * MIB,
               nas={"path": f"/{name}"}, comment="made over REST")
    v.post(hydrate=True)
    jobs = [j.uuid for j in Job.get_collection() if j.uuid not in before]
    assert len(jobs) == 1, jobs
    zv = z_volume(sim, name)
    assert text(zv, "volume-id-attributes", "instance-uuid") == v.uuid
    assert text(zv, "volume-id-attributes", "junction-path") == f"/{name}"
    assert text(zv, "volume-id-attributes", "comment") == "made over REST"
    assert text(zv, "volume-space-attributes", "size") == str(100 * MIB)
    # The job the REST create ran is a job ZAPI lists too.
    res = z(sim, "job-get-iter", {"query": {"job-info": {"job-uuid": jobs[0]}}}, vserver=None)
    assert [r.get_child_content("job-state") for r in records(res)] == ["success"]

    z(sim, "volume-size", {"volume": name, "new-size": str(400 * MIB)})
    z(sim, "volume-modify-iter", {
        "query": {"volume-attributes": {"volume-id-attributes": {"name": name}}},
        "attributes": {"volume-attributes": {"volume-id-attributes": {
            "comment": "changed over ZAPI"}}}})
    v.get(fields="size,comment")
    assert (v.size, v.comment) == (400 * MIB, "changed over ZAPI")

    z(sim, "volume-unmount", {"volume-name": name})
    z(sim, "volume-offline", {"name": name})
    v.get(fields="state,nas.path")
    assert v.state == "offline"
    z(sim, "volume-destroy", {"name": name})
    assert rest_status(v.get) == (404, "4")


def test_snapshots_on_both_fronts(sim):
    name = "xf_snaps"
    v = Volume(name=name, svm={"name": SVM}, aggregates=[{"name": "aggr1"}], size=100 * MIB)
    v.post()
    v = Volume.find(name=name, **{"svm.name": SVM})

    z(sim, "snapshot-create", {"volume": name, "snapshot": "from_zapi"})
    s = Snapshot(v.uuid, name="from_rest", comment="made over REST")
    s.post(hydrate=True)
    zsnaps = z_snapshots(sim, name)
    rsnaps = {x.name: x.uuid for x in Snapshot.get_collection(v.uuid)}
    assert rsnaps == zsnaps and set(rsnaps) == {"from_zapi", "from_rest"}

    # Rename over REST, seen over ZAPI; delete over ZAPI, gone over REST.
    s.name = "from_rest_renamed"
    s.patch()
    assert z_snapshots(sim, name) == {"from_zapi": rsnaps["from_zapi"],
                                      "from_rest_renamed": rsnaps["from_rest"]}
    z(sim, "snapshot-delete", {"volume": name, "snapshot": "from_rest_renamed"})
    assert rest_status(Snapshot(v.uuid, uuid=rsnaps["from_rest"]).get) == (404, "4")
    # Delete over REST, gone over ZAPI.
    Snapshot(v.uuid, uuid=rsnaps["from_zapi"]).delete()
    assert z_snapshots(sim, name) == {}
    v.delete()


def test_export_policies_on_both_fronts(sim):
    # Made over ZAPI, with a rule; read, extended and deleted over REST.
    z(sim, "export-policy-create", {"policy-name": "xf_zpol"})
    z(sim, "export-rule-create", {"policy-name": "xf_zpol", "client-match": "10.1.0.0/16",
                                  "ro-rule": {"security-flavor": "sys"},
                                  "rw-rule": {"security-flavor": "sys"},
                                  "protocol": {"access-protocol": "nfs3"}})
    p = ExportPolicy.find(name="xf_zpol", fields="rules", **{"svm.name": SVM})
    assert p.id == z_policy_id(sim, "xf_zpol")
    assert [(r.index, [c.match for c in r.clients], r.protocols, r.rw_rule) for r in p.rules] == [
        (1, ["10.1.0.0/16"], ["nfs3"], ["sys"])]
    ExportRule(p.id, clients=[{"match": "10.2.0.1"}], ro_rule=["any"], rw_rule=["never"]).post()
    r1 = ExportRule(p.id, index=1)
    r1.rw_rule = ["none"]
    r1.patch()
    assert z_rules(sim, "xf_zpol") == {1: ("10.1.0.0/16", ["none"]), 2: ("10.2.0.1", ["never"])}
    p.delete()
    assert z_policy_id(sim, "xf_zpol") is None

    # Made over REST; renamed and destroyed over ZAPI.
    q = ExportPolicy(name="xf_rpol", svm={"name": SVM},
                     rules=[{"clients": [{"match": "0.0.0.0/0"}], "ro_rule": ["any"],
                             "rw_rule": ["any"]}])
    q.post(hydrate=True)
    assert z_policy_id(sim, "xf_rpol") == q.id
    assert z_rules(sim, "xf_rpol") == {1: ("0.0.0.0/0", ["any"])}
    z(sim, "export-policy-rename", {"policy-name": "xf_rpol", "new-policy-name": "xf_rpol2"})
    q.get()
    assert q.name == "xf_rpol2"
    z(sim, "export-policy-destroy", {"policy-name": "xf_rpol2"})
    assert rest_status(q.get) == (404, "4")


def test_qtrees_on_both_fronts(sim):
    name = "xf_qvol"
    v = Volume(name=name, svm={"name": SVM}, aggregates=[{"name": "aggr1"}], size=100 * MIB,
               nas={"path": f"/{name}"})
    v.post(hydrate=True)
    z(sim, "qtree-create", {"volume": name, "qtree": "zq", "security-style": "unix",
                            "mode": "0750"})
    q = Qtree(name="rq", volume={"uuid": v.uuid}, svm={"name": SVM}, unix_permissions=700)
    q.post(hydrate=True)
    res = z(sim, "qtree-list-iter", {"query": {"qtree-info": {"volume": name}}})
    zq = {r.get_child_content("qtree"): (int(r.get_child_content("id")),
                                         r.get_child_content("mode"))
          for r in records(res) if r.get_child_content("qtree")}
    rq = {x.name: (x.id, x.unix_permissions) for x in Qtree.get_collection(
        fields="unix_permissions", **{"volume.uuid": v.uuid})}
    assert zq == {"zq": (rq["zq"][0], "0750"), "rq": (q.id, "0700")}
    assert rq["zq"][1] == 750 and rq["rq"] == (q.id, 700)
    # Modify over REST, seen over ZAPI; delete over ZAPI, gone over REST.
    zqt = Qtree(volume={"uuid": v.uuid}, id=rq["zq"][0])
    zqt.unix_permissions = 755
    zqt.patch()
    res = z(sim, "qtree-list-iter", {"query": {"qtree-info": {"volume": name, "qtree": "zq"}}})
    assert records(res)[0].get_child_content("mode") == "0755"
    z(sim, "qtree-delete", {"qtree": f"/vol/{name}/zq"})
    assert rest_status(zqt.get) == (404, "4")
    q.delete()
    v.delete()
    assert z_volume(sim, name) is None


def test_async_zapi_job_read_over_rest(sim):
    name = "xf_async"
    res = z(sim, "volume-create-async", {"volume-name": name, "aggr-list": [],
                                         "size": 100 * MIB})
    job_id = res.get_child_content("result-jobid")
    res = z(sim, "job-get-iter", {"query": {"job-info": {"job-id": job_id}}}, vserver=None)
    uuid = records(res)[0].get_child_content("job-uuid")
    j = Job(uuid=uuid)
    j.get()
    assert j.state == "success"
    v = Volume.find(name=name, **{"svm.name": SVM})
    assert v.uuid == text(z_volume(sim, name), "volume-id-attributes", "instance-uuid")
    v.delete()
