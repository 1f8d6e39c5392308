"""The ONTAP REST front as NetApp's own Python REST client (netapp-ontap, PyPI) sees it.

One simulator for the module, on tests/python/topology.toml with `[cluster] job_duration_ms = 1500`:
every asynchronous verb (volume, snapshot and qtree create, modify, delete) answers 202 with a job
that stays queued, then running, for 1.5 s, so the library really polls `/api/cluster/jobs/{uuid}`.
The connection verifies the simulator's generated CA. What is asserted is what a user of the
library sees: resources, their fields after `get()`, the keys the library learns from a POST's
`Location`, job states, and `NetAppRestError` with ONTAP's error codes.
"""

import logging
import threading
import time

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
    Software,
    Svm,
    Volume,
)

from rest_helpers import RestSim, Sweep, connect, unknown_fields

JOB_MS = 1500
MIB = 1024**2
SVM = "svm1"


@pytest.fixture(scope="module")
def rest_sim(tmp_path_factory):
    s = RestSim(tmp_path_factory.mktemp("rest-netapp-ontap"), JOB_MS)
    try:
        yield s
    finally:
        died = s.proc.proc.poll() is not None
        code = s.stop()
        if died or code != 0:
            pytest.fail(f"ontap-sim exited with {code}; stderr:\n{s.proc.stderr()[-5000:]}",
                        pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def conn(rest_sim):
    """The library's global connection, for this module only."""
    saved = config.CONNECTION
    config.CONNECTION = connect(rest_sim)
    try:
        yield config.CONNECTION
    finally:
        config.CONNECTION = saved


@pytest.fixture(autouse=True)
def _alive(rest_sim):
    yield
    if not rest_sim.proc.alive():
        pytest.fail(f"ontap-sim died during this test; stderr:\n{rest_sim.proc.stderr()[-5000:]}",
                    pytrace=False)


@pytest.fixture(autouse=True)
def _sweep(rest_sim, conn):
    """Whatever a test made is gone before the next test starts, even when the test failed."""
    sweep = Sweep(conn)
    yield
    if rest_sim.proc.alive():
        sweep.clean()


def new_volume(name, size=100 * MIB, **extra):
    v = Volume(name=name, svm={"name": SVM}, aggregates=[{"name": "aggr1"}], size=size, **extra)
    v.post(hydrate=True)
    return v


@pytest.fixture(scope="module")
def vol(rest_sim):
    """A volume for the snapshot and qtree tests, mounted at /nao_base."""
    v = new_volume("nao_base", nas={"path": "/nao_base"})
    yield v
    v.delete()


def rest_error(call):
    """Run `call`, which must fail with an HTTP error; returns (status, ONTAP error object)."""
    with pytest.raises(NetAppRestError) as info:
        call()
    e = info.value
    assert e.status_code is not None, f"no HTTP error behind {e}"
    body = e.response_body
    assert body and "error" in body, f"not an ONTAP error body: {e.response_text!r}"
    assert isinstance(body["error"]["code"], str), body
    return e.status_code, body["error"]


def job_states(caplog):
    """The job states netapp-ontap logged while polling, in order, repeats folded (after a POST
    it polls the job once to find the new object and once more before hydrating it)."""
    out = []
    for r in caplog.records:
        if r.name.startswith("netapp_ontap") and r.msg.startswith("Job (") and (
                not out or out[-1] != r.args[0]):
            out.append(r.args[0])
    return out


def assert_polled(states):
    """The library saw the job before it ended (queued, then running, in that order) and saw it
    end in success."""
    assert states and states[-1] == "success", states
    assert states[:-1] in (["queued"], ["running"], ["queued", "running"]), states


# --------------------------------------------------------------------------------------------
# Cluster, nodes, SVMs, aggregates, interfaces


def test_cluster_identity():
    c = Cluster()
    c.get()
    assert c.name == "cluster1"
    assert (c.version.generation, c.version.major, c.version.minor) == (9, 14, 1)
    assert "9.14.1" in c.version.full
    nodes = list(Node.get_collection(fields="serial_number,model,state"))
    assert [n.name for n in nodes] == ["cluster1-01"]
    assert nodes[0].serial_number and nodes[0].state == "up"
    sw = Software()
    sw.get()
    assert sw.version == "9.14.1"
    assert [n.name for n in sw.nodes] == ["cluster1-01"]


def test_svms():
    svms = {s.name: s for s in Svm.get_collection(fields="state,aggregates,nfs")}
    assert sorted(svms) == ["svm1", "svm2"]
    assert svms["svm1"].state == "running"
    assert [a.name for a in svms["svm1"].aggregates] == ["aggr1"]
    one = Svm(uuid=svms["svm2"].uuid)
    one.get()
    assert one.name == "svm2" and one.comment == "second data SVM"
    assert Svm.find(name="svm1").uuid == svms["svm1"].uuid


def test_aggregates():
    aggrs = list(Aggregate.get_collection(fields="block_storage.primary.disk_type,space"))
    assert [a.name for a in aggrs] == ["aggr1"]
    a = aggrs[0]
    assert a.block_storage.primary.disk_type == "ssd"
    assert a.space.block_storage.size == 10 * 1024**4
    assert a.space.block_storage.used + a.space.block_storage.available == 10 * 1024**4


def test_ip_interfaces():
    lifs = list(IpInterface.get_collection(services="data_nfs", fields="ip.address,state,svm"))
    assert {(i.name, i.svm.name, i.ip.address, i.state) for i in lifs} == {
        ("svm1_data1", "svm1", "127.0.0.1", "up"), ("svm2_data1", "svm2", "127.0.0.2", "up")}
    only = list(IpInterface.get_collection(**{"svm.name": "svm2"}))
    assert [i.name for i in only] == ["svm2_data1"]
    one = IpInterface(uuid=only[0].uuid)
    one.get()
    assert one.ip.address == "127.0.0.2" and "data_nfs" in one.services


# --------------------------------------------------------------------------------------------
# Volumes and jobs


def test_volume_create_is_a_job_the_library_polls(rest_sim, caplog):
    """POST /storage/volumes answers 202 with a job. While the library polls it (queued, then
    running), the volume does not exist yet; it appears when the job succeeds, and the library
    learns its UUID from the answer's `Location`."""
    name = "nao_job_vol"
    before = {j.uuid for j in Job.get_collection()}
    samples = []  # (states of the new jobs, volume listed?)
    stop = threading.Event()
    watcher = connect(rest_sim)

    def listed():
        return Volume.count_collection(connection=watcher, name=name) == 1

    # Each sample reads the volume list, then the jobs, then the list again: the job can end
    # between two reads, so "listed before" bounds what the jobs may show and "listed after"
    # what they may not.
    def watch():
        while not stop.is_set():
            before_jobs = listed()
            states = [j.state for j in Job.get_collection(connection=watcher, fields="state")
                      if j.uuid not in before]
            samples.append((before_jobs, states, listed()))
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    with caplog.at_level(logging.INFO, logger="netapp_ontap"):
        t.start()
        started = time.monotonic()
        v = Volume(name=name, svm={"name": SVM}, aggregates=[{"name": "aggr1"}], size=200 * MIB,
                   nas={"path": f"/{name}", "security_style": "unix"}, comment="made by netapp-ontap")
        v.post(hydrate=True)
        took = time.monotonic() - started
        stop.set()
        t.join(5)
    assert took >= JOB_MS / 1000 * 0.9, f"the create returned after {took:.2f} s: no job wait"
    assert_polled(job_states(caplog))
    # Before the job ended the volume was not there; once it was, the job had succeeded.
    assert any(not after and states and states[0] in ("queued", "running")
               for _, states, after in samples), samples
    assert all(states == ["success"] for before_jobs, states, _ in samples if before_jobs), samples
    # The library took the key from Location and hydrated the object.
    assert v.uuid and v.state == "online" and v.size == 200 * MIB
    assert v.nas.path == f"/{name}" and v.comment == "made by netapp-ontap"
    assert v.nas.export_policy.name == "default"
    assert v.svm.name == SVM and v.aggregates[0].name == "aggr1"
    again = Volume.find(name=name, **{"svm.name": SVM})
    assert again.uuid == v.uuid
    v.delete()
    assert Volume.find(name=name) is None


def test_volume_modify_job_then_change(caplog):
    """A PATCH not polled by the library: its job is queued, the volume still has its old size;
    once the job is polled to success the new size, comment and junction path are there."""
    v = new_volume("nao_mod", size=100 * MIB, nas={"path": "/nao_mod"})
    v.size = 300 * MIB
    v.comment = "grown"
    resp = v.patch(poll=False)
    assert resp.is_job and resp.http_response.status_code == 202
    job = Job(uuid=resp.http_response.json()["job"]["uuid"])
    job.get()
    assert job.state in ("queued", "running")
    now = Volume(uuid=v.uuid)
    now.get(fields="size,comment")
    assert now.size == 100 * MIB and now.comment == ""
    with caplog.at_level(logging.INFO, logger="netapp_ontap"):
        resp.poll(interval=0.2)
    assert_polled(job_states(caplog))
    job.get()
    assert job.state == "success" and job.end_time
    now.get(fields="size,comment,space.size")
    assert (now.size, now.comment, now.space.size) == (300 * MIB, "grown", 300 * MIB)
    # Junction path and export policy in one PATCH.
    ExportPolicy(name="nao_mod_pol", svm={"name": SVM}).post()
    v2 = Volume(uuid=v.uuid)
    v2.nas = {"path": "/nao_mod_moved", "export_policy": {"name": "nao_mod_pol"}}
    v2.patch()
    now.get(fields="nas")
    assert now.nas.path == "/nao_mod_moved" and now.nas.export_policy.name == "nao_mod_pol"
    v.delete()
    ExportPolicy.find(name="nao_mod_pol", **{"svm.name": SVM}).delete()


def test_return_timeout_holds_the_answer_until_the_job_ends():
    """With `return_timeout`, the server answers when the job has ended (200, not 202)."""
    v = new_volume("nao_rt")
    v.size = 150 * MIB
    started = time.monotonic()
    resp = v.patch(poll=False, return_timeout=15)
    took = time.monotonic() - started
    assert resp.http_response.status_code == 200, resp.http_response.text
    assert took >= JOB_MS / 1000 * 0.9, took
    job = Job(uuid=resp.http_response.json()["job"]["uuid"])
    job.get()
    assert job.state == "success"
    v.get(fields="size")
    assert v.size == 150 * MIB
    v.delete()


def test_volume_collection_filters_fields_and_paging(vol):
    names = [v.name for v in Volume.get_collection()]
    assert "nao_base" in names and "svm1_root" in names and "svm2_root" in names
    # max_records=1: the library follows _links.next to the end.
    paged = [v.name for v in Volume.get_collection(max_records=1)]
    assert paged == names
    mine = list(Volume.get_collection(fields="size,nas.path", **{"svm.name": SVM, "name": "nao_*"}))
    assert [v.name for v in mine] == ["nao_base"]
    assert mine[0].size == 100 * MIB and mine[0].nas.path == "/nao_base"
    assert Volume.count_collection(**{"size": f">{50 * MIB}", "svm.name": SVM, "name": "nao_*"}) == 1
    assert Volume.count_collection(**{"name": "svm1_root|svm2_root"}) == 2
    assert Volume.count_collection(**{"name": "!nao_base", "svm.name": SVM}) >= 1


def test_volume_errors(rest_sim, vol):
    # A volume name taken in the SVM: the job fails, and its record carries ONTAP's code.
    before = {j.uuid for j in Job.get_collection()}
    with pytest.raises(NetAppRestError) as info:
        Volume(name="nao_base", svm={"name": SVM}, aggregates=[{"name": "aggr1"}],
               size=100 * MIB).post()
    assert "Job failed" in str(info.value) and "already exists" in str(info.value)
    failed = [j for j in Job.get_collection(fields="state,code,message") if j.uuid not in before]
    # ONTAP's code for a duplicate volume name on POST /storage/volumes: 917526.
    assert [(j.state, j.code) for j in failed] == [("failure", 917526)], failed
    assert "nao_base" in failed[0].message
    # A missing volume: 404 with code 4.
    status, err = rest_error(lambda: Volume(uuid="00000000-0000-0000-0000-000000000000").get())
    assert (status, err["code"]) == (404, "4")
    # A field that does not exist: 400, code 262197, target `fields`.
    status, err = rest_error(lambda: list(Volume.get_collection(fields="no_such_field")))
    assert (status, err["code"], err.get("target")) == (400, "262197", "fields")
    # A filter on a field that does not exist: 400, code 262179.
    status, err = rest_error(lambda: list(Volume.get_collection(no_such_field="x")))
    assert (status, err["code"]) == (400, "262179")
    # An SVM that does not exist: refused before any job, 404 with code 2621462.
    status, err = rest_error(lambda: Volume(name="nao_x", svm={"name": "nosuch"},
                                            size=100 * MIB).post())
    assert (status, err["code"], err.get("target")) == (404, "2621462", "svm.name")
    # A read-only user may read but not change: 403 with code 6.
    mine = Volume(uuid=vol.uuid)
    mine.set_connection(connect(rest_sim, user="ro"))
    mine.get(fields="size")
    assert mine.size == 100 * MIB
    mine.comment = "not allowed"
    status, err = rest_error(mine.patch)
    assert (status, err["code"]) == (403, "6")


# --------------------------------------------------------------------------------------------
# Snapshots


def test_snapshot_crud(vol, caplog):
    with caplog.at_level(logging.INFO, logger="netapp_ontap"):
        s = Snapshot(vol.uuid, name="nao_snap", comment="first")
        s.post(hydrate=True)
    assert_polled(job_states(caplog))
    assert s.uuid and s.create_time and s.comment == "first"
    assert s.volume.uuid == vol.uuid and s.svm.name == SVM
    listed = list(Snapshot.get_collection(vol.uuid, fields="comment,create_time"))
    assert [(x.name, x.uuid) for x in listed] == [("nao_snap", s.uuid)]
    # Rename and relabel in one PATCH; the UUID stays.
    s.name = "nao_snap_renamed"
    s.snapmirror_label = "daily"
    s.patch()
    again = Snapshot(vol.uuid, uuid=s.uuid)
    again.get()
    assert (again.name, again.snapmirror_label, again.comment) == (
        "nao_snap_renamed", "daily", "first")
    assert Snapshot.find(vol.uuid, name="nao_snap_renamed").uuid == s.uuid
    # A second snapshot of the same name is refused by its job.
    with pytest.raises(NetAppRestError, match="already exists"):
        Snapshot(vol.uuid, name="nao_snap_renamed").post()
    s.delete()
    assert list(Snapshot.get_collection(vol.uuid)) == []
    status, err = rest_error(again.get)
    assert (status, err["code"]) == (404, "4")


# --------------------------------------------------------------------------------------------
# Export policies and rules


def test_export_policy_with_rules():
    p = ExportPolicy(name="nao_pol", svm={"name": SVM}, rules=[
        {"clients": [{"match": "10.0.0.0/8"}], "ro_rule": ["sys"], "rw_rule": ["sys"],
         "protocols": ["nfs3"], "superuser": ["none"]},
        {"clients": [{"match": "192.168.1.1"}, {"match": "192.168.1.2"}], "ro_rule": ["any"],
         "rw_rule": ["never"]},
    ])
    p.post(hydrate=True)
    assert isinstance(p.id, int) and p.svm.name == SVM
    assert [r.index for r in p.rules] == [1, 2]
    assert [c.match for c in p.rules[1].clients] == ["192.168.1.1", "192.168.1.2"]
    assert p.rules[0].protocols == ["nfs3"] and p.rules[0].superuser == ["none"]
    assert ExportPolicy.find(name="nao_pol", **{"svm.name": SVM}).id == p.id

    # Rules as their own resource.
    r = ExportRule(p.id, clients=[{"match": "172.16.0.0/12"}], ro_rule=["krb5"], rw_rule=["krb5"])
    r.post(hydrate=True)
    assert r.index == 3 and r.ro_rule == ["krb5"]
    assert [x.index for x in ExportRule.get_collection(p.id)] == [1, 2, 3]
    r.rw_rule = ["never"]
    r.patch()
    r.get()
    assert r.rw_rule == ["never"] and r.ro_rule == ["krb5"]
    # The same clients again: ONTAP's "rule already exists" code, 1704070.
    status, err = rest_error(lambda: ExportRule(p.id, clients=[{"match": "172.16.0.0/12"}],
                                                ro_rule=["sys"], rw_rule=["sys"]).post())
    assert (status, err["code"]) == (409, "1704070")
    r.delete()
    assert [x.index for x in ExportRule.get_collection(p.id)] == [1, 2]
    status, err = rest_error(lambda: ExportRule(p.id, index=3).get())
    assert (status, err["code"]) == (404, "4")

    # Rename, then delete.
    p.name = "nao_pol2"
    p.patch()
    assert ExportPolicy.find(name="nao_pol", **{"svm.name": SVM}) is None
    assert ExportPolicy.find(name="nao_pol2", **{"svm.name": SVM}).id == p.id
    p.delete()
    status, err = rest_error(lambda: ExportPolicy(id=p.id).get())
    assert (status, err["code"]) == (404, "4")
    # A second "default" in svm1 is a duplicate: 409, code 1.
    status, err = rest_error(lambda: ExportPolicy(name="default", svm={"name": SVM}).post())
    assert (status, err["code"]) == (409, "1")


# --------------------------------------------------------------------------------------------
# Qtrees


def test_qtree_crud(vol):
    q = Qtree(name="nao_qt", volume={"name": vol.name}, svm={"name": SVM},
              security_style="unix", unix_permissions=750)
    q.post(hydrate=True)
    assert q.id >= 1 and q.volume.uuid == vol.uuid
    assert (q.security_style, q.unix_permissions, q.path) == ("unix", 750, "/nao_base/nao_qt")
    assert q.export_policy.name == "default"
    listed = list(Qtree.get_collection(**{"volume.uuid": vol.uuid, "name": "nao_qt"}))
    assert [(x.name, x.id) for x in listed] == [("nao_qt", q.id)]
    q.unix_permissions = 755
    q.name = "nao_qt2"
    q.patch()
    again = Qtree(**{"volume": {"uuid": vol.uuid}, "id": q.id})
    again.get()
    assert (again.name, again.unix_permissions) == ("nao_qt2", 755)
    q.delete()
    assert list(Qtree.get_collection(**{"volume.uuid": vol.uuid, "name": "nao_qt*"})) == []


# --------------------------------------------------------------------------------------------
# Every field served is one netapp-ontap's models know


def test_records_use_ontap_field_names(vol):
    """Every field of every record (fields=**) exists in netapp-ontap's model of that resource:
    no invented names. Objects of each kind exist while the check runs."""
    snap = Snapshot(vol.uuid, name="nao_schema_snap", comment="c", snapmirror_label="l")
    snap.post()
    qt = Qtree(name="nao_schema_qt", volume={"name": vol.name}, svm={"name": SVM})
    qt.post()
    pol = ExportPolicy(name="nao_schema_pol", svm={"name": SVM},
                       rules=[{"clients": [{"match": "0.0.0.0/0"}], "ro_rule": ["any"],
                               "rw_rule": ["any"]}])
    pol.post()
    session = config.CONNECTION.session
    base = config.CONNECTION.origin + "/api"
    checks = [
        (Cluster, "/cluster"), (Software, "/cluster/software"), (Node, "/cluster/nodes"),
        (Job, "/cluster/jobs"), (Svm, "/svm/svms"), (Aggregate, "/storage/aggregates"),
        (IpInterface, "/network/ip/interfaces"), (Volume, "/storage/volumes"),
        (Snapshot, f"/storage/volumes/{vol.uuid}/snapshots"), (Qtree, "/storage/qtrees"),
        (ExportPolicy, "/protocols/nfs/export-policies"),
        (ExportRule, f"/protocols/nfs/export-policies/{pol.id}/rules"),
    ]
    problems = {}
    for cls, path in checks:
        r = session.get(base + path, params={"fields": "**"})
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        records = body.get("records", [body])
        assert records, path
        bad = sorted({p for rec in records for p in unknown_fields(cls._schema(), rec)})
        if bad:
            problems[path] = bad
        # The library itself accepts every record.
        for rec in records:
            cls.from_dict(rec)
    assert not problems, problems
    snap.delete()
    qt.delete()
    pol.delete()


# --------------------------------------------------------------------------------------------
# order_by, PATCH and DELETE of a collection by query, ONTAP's per-endpoint error codes


def test_order_by(rest_sim):
    for name, size in (("nao_ob_a", 300 * MIB), ("nao_ob_b", 40 * MIB), ("nao_ob_c", 100 * MIB)):
        new_volume(name, size=size)
    query = {"name": "nao_ob_*", "svm.name": SVM, "fields": "size"}
    got = [v.name for v in Volume.get_collection(order_by="size desc", **query)]
    assert got == ["nao_ob_a", "nao_ob_c", "nao_ob_b"]
    # Several fields, comma-separated; numbers sort numerically.
    got = [(v.name, v.size) for v in Volume.get_collection(order_by="size,name", **query)]
    assert got == [("nao_ob_b", 40 * MIB), ("nao_ob_c", 100 * MIB), ("nao_ob_a", 300 * MIB)]
    # Paging (the library follows `next`) keeps the order.
    got = [v.name for v in Volume.get_collection(order_by="name desc", max_records=1, **query)]
    assert got == ["nao_ob_c", "nao_ob_b", "nao_ob_a"]
    status, err = rest_error(lambda: list(Volume.get_collection(order_by="colour")))
    assert (status, err["code"], err.get("target")) == (400, "262197", "order_by")


def test_patch_and_delete_collection(rest_sim):
    for name in ("nao_pc_1", "nao_pc_2", "nao_pc_3"):
        new_volume(name)
    # One job per volume (1.5 s each, run side by side); the library waits for all of them.
    Volume.patch_collection({"comment": "bulk"}, name="nao_pc_*", **{"svm.name": SVM})
    got = {v.name: v.comment for v in Volume.get_collection(name="nao_pc_*", fields="comment")}
    assert got == {"nao_pc_1": "bulk", "nao_pc_2": "bulk", "nao_pc_3": "bulk"}
    # A bare collection PATCH is refused.
    status, err = rest_error(lambda: Volume.patch_collection({"comment": "all"}))
    assert (status, err["code"]) == (400, "262197")
    # A failure part-way: the clone's parent cannot be deleted. serial_records waits for each
    # job, so the DELETE stops at the failure; what was deleted stays deleted.
    Volume(name="nao_pc_kid", svm={"name": SVM},
           clone={"is_flexclone": True, "parent_volume": {"name": "nao_pc_2"}}).post()
    status, err = rest_error(lambda: Volume.delete_collection(
        name="nao_pc_*", serial_records=True, **{"svm.name": SVM}))
    assert err["code"] == "524615", err
    assert "nao_pc_2" in err["message"], err
    left = sorted(v.name for v in Volume.get_collection(name="nao_pc_*"))
    assert left == ["nao_pc_2", "nao_pc_3", "nao_pc_kid"], left
    # continue_on_failure: the others go, the failure is still reported.
    status, err = rest_error(lambda: Volume.delete_collection(
        name="nao_pc_*", serial_records=True, continue_on_failure=True, **{"svm.name": SVM}))
    assert err["code"] == "524615", err
    left = sorted(v.name for v in Volume.get_collection(name="nao_pc_*"))
    assert left == ["nao_pc_2"], left


def test_error_codes_per_endpoint(rest_sim, vol):
    """ONTAP's documented codes for model refusals, as the library reports them."""
    before = {j.uuid for j in Job.get_collection()}
    # Size below the minimum on POST /storage/volumes: the job fails with 917534 (Trident reads
    # it as "size too small").
    with pytest.raises(NetAppRestError):
        Volume(name="nao_ec_tiny", svm={"name": SVM}, aggregates=[{"name": "aggr1"}],
               size=MIB).post()
    # A snapshot name taken on the volume: 525059.
    Snapshot(vol.uuid, name="nao_ec_s").post()
    with pytest.raises(NetAppRestError):
        Snapshot(vol.uuid, name="nao_ec_s").post()
    failed = [j.code for j in Job.get_collection(fields="state,code") if j.uuid not in before
              and j.state == "failure"]
    assert sorted(failed) == [525059, 917534], failed
    # An export policy in use by a volume cannot be deleted: 409 with 1703945.
    pol = ExportPolicy(name="nao_ec_pol", svm={"name": SVM})
    pol.post()
    new_volume("nao_ec_user", nas={"export_policy": {"name": "nao_ec_pol"}})
    status, err = rest_error(lambda: ExportPolicy(id=pol.id).delete())
    assert (status, err["code"]) == (409, "1703945")
