"""The error paths of the volume lifecycle, as netapp-lib's `invoke_successfully` reports them.

Each test provokes one refusal and asserts the `NaApiError` code (the errno clients branch on,
shared/spec/errno.md and trident-zapi.md section 3) and that the message names the object. Then it
reads the model back to show the refusal changed nothing (and, where a retry is described, that the
retry passes), and removes what it made, so the shared session simulator stays tidy.

Topology: tests/python/topology.toml through the conftest `sim` fixture (aggr1 shared by svm1 and
svm2; users admin, vsadmin scoped to svm1, ro read-only). One test starts a simulator of its own
with a second aggregate assigned to svm1 only (see `two_aggr_sim`).
"""

import uuid

import pytest
from netapp_lib.api.zapi import zapi

from simproc import PASSWORD, SimProcess
from zapi_helpers import api

# errno values (shared/spec/errno.md)
EAPIERROR = 13001
EAPIPRIVILEGE = 13003
ESNAPSHOTBUSY = 13024
EVOLUMEDOESNOTEXIST = 13040
EVOLUMEOFFLINE = 13042
EDUPLICATEENTRY = 13130
EVOLNOTCLONE = 13170
EVOL_NOT_MOUNTED = 14716
EOBJECTNOTFOUND = 15661

GIB = 1024**3


# --------------------------------------------------------------------------------------------
# Helpers


def uniq(prefix):
    """A name no other test uses (volume names: letters, digits and '_')."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def records(result):
    lst = result.get_child_by_name("attributes-list")
    return lst.get_children() if lst is not None else []


def volume_records(sim, name, vserver="svm1", user="admin"):
    """volume-get-iter for one name, tunnelled to `vserver` (all states)."""
    res = sim.invoke(
        api("volume-get-iter", {
            "query": {"volume-attributes": {"volume-id-attributes": {"name": name}}},
        }),
        user=user, vserver=vserver,
    )
    assert res.get_attr("status") == "passed"
    recs = records(res)
    num = res.get_child_content("num-records")
    assert int(num or 0) == len(recs), res.to_string()
    return recs


def volume_field(rec, group, field):
    g = rec.get_child_by_name(group)
    assert g is not None, rec.to_string()
    return g.get_child_content(field)


def volume_state(sim, name, vserver="svm1"):
    recs = volume_records(sim, name, vserver)
    assert len(recs) == 1, f"expected one volume {name}, got {len(recs)}"
    return volume_field(recs[0], "volume-state-attributes", "state")


def snapshot_names(sim, volume, vserver="svm1"):
    res = sim.invoke(
        api("snapshot-get-iter", {"query": {"snapshot-info": {"volume": volume}}}),
        vserver=vserver,
    )
    return sorted(r.get_child_content("name") for r in records(res))


def qtree_names(sim, volume, vserver="svm1"):
    res = sim.invoke(
        api("qtree-list-iter", {"query": {"qtree-info": {"volume": volume}}}),
        vserver=vserver,
    )
    # Each volume also lists its implicit qtree "" (netapp-lib reads the empty text as None).
    return sorted(r.get_child_content("qtree") or "" for r in records(res))


def export_policy_names(sim, name, vserver="svm1"):
    res = sim.invoke(
        api("export-policy-get-iter", {"query": {"export-policy-info": {"policy-name": name}}}),
        vserver=vserver,
    )
    return [r.get_child_content("policy-name") for r in records(res)]


def export_rules(sim, policy, vserver="svm1"):
    res = sim.invoke(
        api("export-rule-get-iter", {"query": {"export-rule-info": {"policy-name": policy}}}),
        vserver=vserver,
    )
    return [(r.get_child_content("rule-index"), r.get_child_content("client-match"))
            for r in records(res)]


def aggr_used(sim, aggr="aggr1"):
    """aggr-get-iter's aggr-space-attributes/size-used (cluster context)."""
    res = sim.invoke(api("aggr-get-iter", {
        "query": {"aggr-attributes": {"aggregate-name": aggr}},
    }))
    recs = records(res)
    assert len(recs) == 1, res.to_string()
    space = recs[0].get_child_by_name("aggr-space-attributes")
    return int(space.get_child_content("size-used")), int(space.get_child_content("size-available"))


def create_volume(sim, name, size="1g", vserver="svm1", junction=True, **extra):
    inputs = {"volume": name, "containing-aggr-name": "aggr1", "size": size}
    if junction:
        inputs["junction-path"] = f"/{name}"
    inputs.update(extra)
    sim.invoke(api("volume-create", inputs), vserver=vserver)


def destroy_volume(sim, name, vserver="svm1"):
    """Best-effort cleanup: unmount-and-offline destroy; a missing volume is fine."""
    try:
        sim.invoke(api("volume-destroy", {"name": name, "unmount-and-offline": "true"}),
                   vserver=vserver)
    except zapi.NaApiError as e:
        if e.code != str(EVOLUMEDOESNOTEXIST):
            raise


def destroy_policy(sim, name, vserver="svm1"):
    try:
        sim.invoke(api("export-policy-destroy", {"policy-name": name}), vserver=vserver)
    except zapi.NaApiError as e:
        if e.code != str(EOBJECTNOTFOUND):
            raise


def assert_error(err, code, *names):
    """The NaApiError has `code` and its message mentions every one of `names`."""
    assert err.code == str(code), f"errno {err.code} (expected {code}): {err.message}"
    for n in names:
        assert n in err.message, f"message does not name {n!r}: {err.message}"


@pytest.fixture
def vol(sim):
    """A fresh 1 GiB volume in svm1 mounted at /<name>; destroyed afterwards."""
    name = uniq("errvol")
    create_volume(sim, name)
    yield name
    destroy_volume(sim, name)


# --------------------------------------------------------------------------------------------
# A volume that does not exist


def test_volume_size_missing_volume(sim):
    name = uniq("missing")
    err = sim.zapi_error(api("volume-size", {"volume": name}), vserver="svm1")
    assert_error(err, EVOLUMEDOESNOTEXIST, name)
    assert volume_records(sim, name) == []


def test_volume_destroy_missing_volume(sim):
    name = uniq("missing")
    err = sim.zapi_error(api("volume-destroy", {"name": name, "unmount-and-offline": "true"}),
                         vserver="svm1")
    assert_error(err, EVOLUMEDOESNOTEXIST, name)
    assert volume_records(sim, name) == []


def test_snapshot_create_on_missing_volume(sim):
    name = uniq("missing")
    err = sim.zapi_error(api("snapshot-create", {"volume": name, "snapshot": "snap1"}),
                         vserver="svm1")
    assert_error(err, EVOLUMEDOESNOTEXIST, name)
    assert snapshot_names(sim, name) == []


def test_volume_get_iter_missing_volume_has_no_records(sim):
    """Trident's VolumeInfo query (trident-zapi.md 3.3): a miss is `passed` with 0 records."""
    name = uniq("missing")
    res = sim.invoke(api("volume-get-iter", {
        "max-records": "100",
        "query": {"volume-attributes": {
            "volume-id-attributes": {"name": name, "style-extended": "flexvol"},
            "volume-state-attributes": {"state": "online"},
        }},
    }), vserver="svm1")
    assert res.get_attr("status") == "passed"
    assert res.get_child_content("num-records") == "0"
    assert records(res) == []


# --------------------------------------------------------------------------------------------
# Duplicate names


def test_volume_create_duplicate(sim, vol):
    err = sim.zapi_error(api("volume-create", {
        "volume": vol, "containing-aggr-name": "aggr1", "size": "2g",
    }), vserver="svm1")
    assert_error(err, EDUPLICATEENTRY, vol)
    recs = volume_records(sim, vol)
    assert len(recs) == 1
    assert volume_field(recs[0], "volume-space-attributes", "size") == str(GIB)
    assert volume_field(recs[0], "volume-id-attributes", "junction-path") == f"/{vol}"


def test_export_policy_create_duplicate(sim):
    pol = uniq("errpol")
    sim.invoke(api("export-policy-create", {"policy-name": pol}), vserver="svm1")
    try:
        sim.invoke(api("export-rule-create", {
            "policy-name": pol, "client-match": "10.0.0.0/8",
        }), vserver="svm1")
        err = sim.zapi_error(api("export-policy-create", {"policy-name": pol}), vserver="svm1")
        assert_error(err, EDUPLICATEENTRY, pol)
        assert export_policy_names(sim, pol) == [pol]
        # The existing policy keeps its rules.
        assert export_rules(sim, pol) == [("1", "10.0.0.0/8")]
    finally:
        destroy_policy(sim, pol)
    assert export_policy_names(sim, pol) == []


def test_snapshot_create_duplicate(sim, vol):
    sim.invoke(api("snapshot-create", {"volume": vol, "snapshot": "snap1"}), vserver="svm1")
    err = sim.zapi_error(api("snapshot-create", {"volume": vol, "snapshot": "snap1"}),
                         vserver="svm1")
    assert_error(err, EDUPLICATEENTRY, "snap1", vol)
    assert snapshot_names(sim, vol) == ["snap1"]


def test_qtree_create_duplicate(sim, vol):
    sim.invoke(api("qtree-create", {"volume": vol, "qtree": "qt1", "mode": "0750"}),
               vserver="svm1")
    err = sim.zapi_error(api("qtree-create", {"volume": vol, "qtree": "qt1", "mode": "0777"}),
                         vserver="svm1")
    assert_error(err, EDUPLICATEENTRY, "qt1", vol)
    assert qtree_names(sim, vol) == ["", "qt1"]
    res = sim.invoke(api("qtree-list-iter", {
        "query": {"qtree-info": {"volume": vol, "qtree": "qt1"}},
    }), vserver="svm1")
    (rec,) = records(res)
    assert rec.get_child_content("mode") == "0750"  # the first create's mode, unchanged


# --------------------------------------------------------------------------------------------
# A snapshot a clone depends on


def test_snapshot_busy_until_clone_split(sim, vol):
    clone = uniq("errclone")
    sim.invoke(api("snapshot-create", {"volume": vol, "snapshot": "base"}), vserver="svm1")
    sim.invoke(api("volume-clone-create", {
        "volume": clone, "parent-volume": vol, "parent-snapshot": "base",
    }), vserver="svm1")
    try:
        err = sim.zapi_error(api("snapshot-delete", {"volume": vol, "snapshot": "base"}),
                             vserver="svm1")
        assert_error(err, ESNAPSHOTBUSY, "base", clone)
        assert snapshot_names(sim, vol) == ["base"]
        (rec,) = volume_records(sim, clone)
        parent = rec.get_child_by_name("volume-clone-attributes")
        assert parent is not None, rec.to_string()
        assert parent.get_child_by_name("volume-clone-parent-attributes") \
                     .get_child_content("snapshot-name") == "base"

        sim.invoke(api("volume-clone-split-start", {"volume": clone}), vserver="svm1")
        sim.invoke(api("snapshot-delete", {"volume": vol, "snapshot": "base"}), vserver="svm1")
        assert snapshot_names(sim, vol) == []
        # The split clone lives on on its own.
        assert volume_state(sim, clone) == "online"
        (rec,) = volume_records(sim, clone)
        clone_attrs = rec.get_child_by_name("volume-clone-attributes")
        assert clone_attrs is None or clone_attrs.get_child_by_name(
            "volume-clone-parent-attributes") is None, rec.to_string()
    finally:
        destroy_volume(sim, clone)
    assert volume_records(sim, clone) == []


# --------------------------------------------------------------------------------------------
# Destroying an online volume


def test_volume_destroy_online_needs_unmount_and_offline(sim):
    name = uniq("errvol")
    create_volume(sim, name)
    used_with_volume, _ = aggr_used(sim)
    try:
        err = sim.zapi_error(api("volume-destroy", {"name": name}), vserver="svm1")
        assert name in err.message, err.message
        assert volume_state(sim, name) == "online"
        (rec,) = volume_records(sim, name)
        assert volume_field(rec, "volume-id-attributes", "junction-path") == f"/{name}"
        assert aggr_used(sim)[0] == used_with_volume
    finally:
        sim.invoke(api("volume-destroy", {"name": name, "unmount-and-offline": "true"}),
                   vserver="svm1")
    assert volume_records(sim, name) == []


# --------------------------------------------------------------------------------------------
# Out of space


def test_volume_create_larger_than_aggregate_free_space(sim):
    name = uniq("errbig")
    used, available = aggr_used(sim)
    too_big = available + GIB
    err = sim.zapi_error(api("volume-create", {
        "volume": name, "containing-aggr-name": "aggr1", "size": str(too_big),
        "space-reserve": "volume",
    }), vserver="svm1")
    assert "aggr1" in err.message, err.message
    assert volume_records(sim, name) == []
    assert aggr_used(sim) == (used, available)


# --------------------------------------------------------------------------------------------
# The wrong SVM


def test_vsadmin_tunnelling_to_another_svm(sim):
    err = sim.zapi_error(api("vserver-get"), user="vsadmin", vserver="svm2")
    assert_error(err, EAPIPRIVILEGE, "svm2")
    # Its own SVM still works.
    res = sim.invoke(api("vserver-get"), user="vsadmin", vserver="svm1")
    assert res.get_child_by_name("attributes").get_child_by_name("vserver-info") \
              .get_child_content("vserver-name") == "svm1"


def test_vsadmin_cannot_create_a_volume_in_another_svm(sim):
    name = uniq("errvol")
    err = sim.zapi_error(api("volume-create", {
        "volume": name, "containing-aggr-name": "aggr1", "size": "1g",
    }), user="vsadmin", vserver="svm2")
    assert_error(err, EAPIPRIVILEGE, "svm2")
    assert volume_records(sim, name, vserver="svm2") == []
    assert volume_records(sim, name, vserver="svm1") == []


def test_volume_of_svm1_is_invisible_tunnelled_to_svm2(sim, vol):
    err = sim.zapi_error(api("volume-size", {"volume": vol}), vserver="svm2")
    assert_error(err, EVOLUMEDOESNOTEXIST, vol)
    err = sim.zapi_error(api("volume-offline", {"name": vol}), vserver="svm2")
    assert_error(err, EVOLUMEDOESNOTEXIST, vol)
    assert volume_records(sim, vol, vserver="svm2") == []
    assert volume_state(sim, vol, vserver="svm1") == "online"


TWO_AGGR_TOPOLOGY = """\
seed = "ontap-sim-error-tests"

[cluster]
name = "cluster1"
version = "9.14.1"

[[nodes]]
name = "cluster1-01"

[[aggregates]]
name = "aggr1"
size = "1TiB"
node = "cluster1-01"

[[aggregates]]
name = "aggr2"
size = "1TiB"
node = "cluster1-01"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]

[[svms.lifs]]
name = "svm1_data1"
address = "127.0.0.1"

[[svms]]
name = "svm2"
aggregates = ["aggr1"]

[[svms.lifs]]
name = "svm2_data1"
address = "127.0.0.2"

[[users]]
name = "admin"
password = "netapp1!"
"""


@pytest.fixture(scope="module")
def two_aggr_sim(sim, tmp_path_factory):
    """A simulator of its own: aggr2 is assigned to svm1 but not to svm2. (It asks for the session
    `sim` only so that conftest's unverified-TLS default is in place for netapp-lib.)"""
    d = tmp_path_factory.mktemp("two-aggr")
    cfg = d / "topology.toml"
    cfg.write_text(TWO_AGGR_TOPOLOGY)
    proc = SimProcess(["--ephemeral", "--listen", "127.0.0.1:0", "--config", cfg],
                      log_path=d / "stderr.log")
    try:
        yield proc
    finally:
        died = not proc.alive()
        code = proc.stop()
        assert not died and code == 0, f"exit code {code}; stderr:\n{proc.stderr()}"


def _invoke(proc, element, vserver):
    s = zapi.NaServer(proc.host, server_type="filer", transport_type="https",
                      style="basic_auth", username="admin", password=PASSWORD, port=proc.port)
    s.set_api_version(major=1, minor=21)
    s.set_vserver(vserver)
    s.set_timeout(10)
    return s.invoke_successfully(element, enable_tunneling=True)


def test_volume_create_on_aggregate_not_assigned_to_svm(two_aggr_sim):
    before = records(_invoke(two_aggr_sim, api("volume-get-iter"), "svm2"))
    with pytest.raises(zapi.NaApiError) as info:
        _invoke(two_aggr_sim, api("volume-create", {
            "volume": "vol_aggr2", "containing-aggr-name": "aggr2", "size": "1g",
        }), "svm2")
    # The errno is not pinned (no client branches on it); the reason names both objects.
    assert "aggr2" in info.value.message and "svm2" in info.value.message, info.value.message
    after = records(_invoke(two_aggr_sim, api("volume-get-iter"), "svm2"))
    assert [r.to_string() for r in after] == [r.to_string() for r in before]
    # The same aggregate is fine for the SVM it is assigned to.
    _invoke(two_aggr_sim, api("volume-create", {
        "volume": "vol_aggr2", "containing-aggr-name": "aggr2", "size": "1g",
    }), "svm1")
    res = _invoke(two_aggr_sim, api("volume-get-iter", {
        "query": {"volume-attributes": {"volume-id-attributes": {"name": "vol_aggr2"}}},
    }), "svm1")
    (rec,) = records(res)
    assert volume_field(rec, "volume-id-attributes", "containing-aggregate-name") == "aggr2"


# --------------------------------------------------------------------------------------------
# Export policies and rules


def test_export_rule_create_duplicate_client_match(sim):
    pol = uniq("errpol")
    sim.invoke(api("export-policy-create", {"policy-name": pol}), vserver="svm1")
    rule = {
        "policy-name": pol, "client-match": "0.0.0.0/0",
        "protocol": {"access-protocol": "nfs"},
        "ro-rule": {"security-flavor": "any"},
        "rw-rule": {"security-flavor": "any"},
        "super-user-security": {"security-flavor": "any"},
    }
    try:
        sim.invoke(api("export-rule-create", rule), vserver="svm1")
        err = sim.zapi_error(api("export-rule-create", rule), vserver="svm1")
        assert_error(err, EAPIERROR, "policy already contains a rule", pol)
        assert export_rules(sim, pol) == [("1", "0.0.0.0/0")]
    finally:
        destroy_policy(sim, pol)


def test_existing_rule_found_by_ansibles_query_so_no_duplicate_create(sim):
    """Ansible's na_ontap_export_policy_rule (netapp.ontap 23.2.0, use_rest=never) looks for the
    rule with export-rule-get-iter, query export-rule-info {policy-name, vserver, protocol,
    ro-rule, rw-rule, super-user-security} (shared/spec/test-clients.md section 2), and creates it
    only when nothing matches. Against ONTAP a second run is a no-op; when the query misses the
    existing rule the module's export-rule-create fails with the 13001 duplicate above
    (api-fixtures/README.md, ansible-export, run `rule-rerun`)."""
    pol = uniq("errpol")
    sim.invoke(api("export-policy-create", {"policy-name": pol}), vserver="svm1")
    try:
        sim.invoke(api("export-rule-create", {
            "client-match": "0.0.0.0/0", "policy-name": pol,
            "protocol": {"access-protocol": "nfs3"},
            "ro-rule": {"security-flavor": "sys"},
            "rw-rule": {"security-flavor": "sys"},
            "super-user-security": {"security-flavor": "sys"},
        }), vserver="svm1")
        query = {
            "policy-name": pol,
            "vserver": "svm1",
            "protocol": {"access-protocol": "nfs3"},
            "ro-rule": {"security-flavor": "sys"},
            "rw-rule": {"security-flavor": "sys"},
            "super-user-security": {"security-flavor": "sys"},
        }
        res = sim.invoke(api("export-rule-get-iter", {"query": {"export-rule-info": query}}),
                         vserver="svm1")
        found = [(r.get_child_content("rule-index"), r.get_child_content("client-match"))
                 for r in records(res)]
        assert found == [("1", "0.0.0.0/0")], (
            "export-rule-get-iter with Ansible's query (it names the SVM as <vserver>) finds "
            f"{found}; the rule exists: {export_rules(sim, pol)}")
    finally:
        destroy_policy(sim, pol)


def test_export_policy_get_missing(sim):
    pol = uniq("errpol")
    err = sim.zapi_error(api("export-policy-get", {"policy-name": pol}), vserver="svm1")
    assert_error(err, EOBJECTNOTFOUND, pol)
    assert export_policy_names(sim, pol) == []


def test_export_policy_destroy_in_use(sim, vol):
    pol = uniq("errpol")
    sim.invoke(api("export-policy-create", {"policy-name": pol}), vserver="svm1")
    try:
        sim.invoke(api("volume-modify-iter", {
            "query": {"volume-attributes": {"volume-id-attributes": {"name": vol}}},
            "attributes": {"volume-attributes": {"volume-export-attributes": {"policy": pol}}},
        }), vserver="svm1")
        err = sim.zapi_error(api("export-policy-destroy", {"policy-name": pol}), vserver="svm1")
        assert pol in err.message and vol in err.message, err.message
        assert export_policy_names(sim, pol) == [pol]
        (rec,) = volume_records(sim, vol)
        assert volume_field(rec, "volume-export-attributes", "policy") == pol
        # Back to the default policy, the policy can go.
        sim.invoke(api("volume-modify-iter", {
            "query": {"volume-attributes": {"volume-id-attributes": {"name": vol}}},
            "attributes": {"volume-attributes": {
                "volume-export-attributes": {"policy": "default"}}},
        }), vserver="svm1")
        sim.invoke(api("export-policy-destroy", {"policy-name": pol}), vserver="svm1")
        assert export_policy_names(sim, pol) == []
    finally:
        destroy_volume(sim, vol)
        destroy_policy(sim, pol)


# --------------------------------------------------------------------------------------------
# Volume state


def test_volume_unmount_of_unmounted_volume(sim):
    name = uniq("errvol")
    create_volume(sim, name, junction=False)
    try:
        err = sim.zapi_error(api("volume-unmount", {"volume-name": name}), vserver="svm1")
        assert_error(err, EVOL_NOT_MOUNTED, name)
        (rec,) = volume_records(sim, name)
        assert volume_field(rec, "volume-id-attributes", "junction-path") in (None, "")
        assert volume_field(rec, "volume-state-attributes", "state") == "online"
    finally:
        destroy_volume(sim, name)


def test_volume_offline_twice(sim, vol):
    sim.invoke(api("volume-offline", {"name": vol}), vserver="svm1")
    err = sim.zapi_error(api("volume-offline", {"name": vol}), vserver="svm1")
    assert_error(err, EVOLUMEOFFLINE, vol)
    assert volume_state(sim, vol) == "offline"
    # An offline volume is destroyed without unmount-and-offline.
    sim.invoke(api("volume-destroy", {"name": vol}), vserver="svm1")
    assert volume_records(sim, vol) == []


def test_volume_clone_split_start_on_non_clone(sim, vol):
    err = sim.zapi_error(api("volume-clone-split-start", {"volume": vol}), vserver="svm1")
    assert_error(err, EVOLNOTCLONE, vol)
    assert volume_state(sim, vol) == "online"
    (rec,) = volume_records(sim, vol)
    clone_attrs = rec.get_child_by_name("volume-clone-attributes")
    assert clone_attrs is None or clone_attrs.get_child_by_name(
        "volume-clone-parent-attributes") is None, rec.to_string()
