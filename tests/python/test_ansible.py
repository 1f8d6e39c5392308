"""Ansible's netapp.ontap modules driven over ZAPI (use_rest=never) against the simulator.

Every module runs as `ansible localhost -m netapp.ontap.<module> -a '<json args>'` with the json
stdout callback, the way tests/python/ANSIBLE-ZAPI-NOTES.md describes. Each step runs twice: the
first run must report the expected `changed`, the second must report changed=false (idempotence,
which depends on the simulator returning exactly the fields and formats the module compares).
Between steps the simulator's own state is checked with a direct netapp-lib call.

Ansible is taken from the venv in $ANSIBLE_VENV (default <repo>/.venv); it needs ansible 12.3.0
(netapp.ontap 23.2.0), netapp-lib and requests. When it is missing the tests FAIL (they do not skip).

Topology: the simulator's built-in default (`--ephemeral`, no --config): cluster1 / cluster1-01 /
aggr1 (10 TiB) / svm1 with data LIF 127.0.0.1 (nfs); admin / netapp1!.

The steps share one simulator and build on each other (volume -> snapshot/qtree -> info -> deletes),
so a step whose prerequisite failed fails at once and names that prerequisite.
"""

import json
import os
import re
import ssl
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from netapp_lib.api.zapi import zapi

from simproc import PASSWORD, REPO_ROOT, SimProcess

ANSIBLE_VENV = Path(os.environ.get("ANSIBLE_VENV", str(REPO_ROOT / ".venv")))
ANSIBLE_TIMEOUT = 180
GIB = 1024**3

VSERVER = "svm1"
AGGR = "aggr1"
VOL = "vol1"
POLICY = "pol1"
SNAP = "snap1"
SNAP_RENAMED = "snap2"
QTREE = "qt1"
QTREE_RENAMED = "qt2"
LIF_ADDRESS = "127.0.0.1"

RULE = {
    "client_match": ["0.0.0.0/0"],
    "ro_rule": ["sys"],
    "rw_rule": ["sys"],
    "protocol": ["nfs3"],
    "super_user_security": ["sys"],
}


# --------------------------------------------------------------------------------------------
# Ansible environment


def _check_ansible_venv():
    """None when the venv can run netapp.ontap over ZAPI, else an explanation."""
    python = ANSIBLE_VENV / "bin" / "python"
    ansible = ANSIBLE_VENV / "bin" / "ansible"
    how = (
        f"Create it with: python3 -m venv {ANSIBLE_VENV} && {ANSIBLE_VENV}/bin/pip install "
        "ansible==12.3.0 netapp-lib==2021.6.25 requests   (or point ANSIBLE_VENV at such a venv)"
    )
    if not python.is_file():
        return f"ANSIBLE_VENV={ANSIBLE_VENV}: no {python}. {how}"
    probe = subprocess.run(
        [str(python), "-c",
         "import ansible, netapp_lib, requests, xmltodict\n"
         "import ansible_collections.netapp.ontap.plugins.modules.na_ontap_volume\n"
         "from ansible.release import __version__; print(__version__)"],
        capture_output=True, text=True, timeout=120,
    )
    if probe.returncode != 0:
        return (f"ANSIBLE_VENV={ANSIBLE_VENV}: ansible / netapp.ontap / netapp-lib is not importable "
                f"with {python}:\n{probe.stderr.strip()[-1500:]}\n{how}")
    if not ansible.is_file():
        return f"ANSIBLE_VENV={ANSIBLE_VENV}: {ansible} is missing. {how}"
    return None


class AnsibleRunner:
    def __init__(self, sim, workdir):
        self.sim = sim
        self.workdir = Path(workdir)
        self.error = _check_ansible_venv()
        self.failed_steps = {}
        self.deferred = []  # second-run (idempotence) failures of the current step
        tmp = self.workdir / "ansible-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update({
            "PATH": f"{ANSIBLE_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_PYTHON_INTERPRETER": str(ANSIBLE_VENV / "bin" / "python"),
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_STDOUT_CALLBACK": "json",
            "ANSIBLE_DISPLAY_TRACEBACK": "error",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(tmp),
            "ANSIBLE_REMOTE_TEMP": str(tmp),
            "ANSIBLE_HOME": str(self.workdir / "ansible-home"),
            "ANSIBLE_CONFIG": str(self.workdir / "ansible.cfg"),
        })
        # An empty config, so a stray ansible.cfg (cwd, ~/.ansible.cfg, /etc/ansible) or an
        # inventory from the environment cannot change the run.
        (self.workdir / "ansible.cfg").write_text("[defaults]\n")
        self.env.pop("ANSIBLE_INVENTORY", None)
        # With PYTHONHTTPSVERIFY set, netapp.ontap does not relax TLS for validate_certs=false.
        self.env.pop("PYTHONHTTPSVERIFY", None)

    def connection_args(self):
        return {
            "hostname": self.sim.host,
            "username": "admin",
            "password": PASSWORD,
            "https": True,
            "validate_certs": False,
            "http_port": self.sim.port,
            "use_rest": "never",
        }

    def run(self, module, **args):
        """Run netapp.ontap.<module> once; returns the host result dict (never raises on a
        module failure: callers check `failed`)."""
        if self.error:
            pytest.fail(self.error, pytrace=False)
        full = dict(self.connection_args(), **args)
        cmd = [str(ANSIBLE_VENV / "bin" / "ansible"), "localhost", "-m", f"netapp.ontap.{module}",
               "-a", json.dumps(full)]
        try:
            p = subprocess.run(cmd, env=self.env, cwd=self.workdir, capture_output=True, text=True,
                               timeout=ANSIBLE_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ansible {module} did not finish within {ANSIBLE_TIMEOUT} s", pytrace=False)
        res = None
        try:
            doc = json.loads(p.stdout)
            res = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError, TypeError):
            pass
        if not isinstance(res, dict):
            pytest.fail(
                f"cannot parse the json callback output of ansible {module} (rc {p.returncode})\n"
                f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}",
                pytrace=False,
            )
        return dict(res)


def explain(module, args, res):
    """A one-screen explanation of a failed module run."""
    msg = str(res.get("msg", ""))
    lines = [f"netapp.ontap.{module} {json.dumps(args)} failed:", f"  msg: {msg}"]
    m = re.search(r"13005:Unable to find API: ([\w-]+)", msg)
    if m:
        lines.append(f"  => the simulator does not implement ZAPI `{m.group(1)}` yet (errno 13005)")
    m = re.search(r"No element by given name ([\w-]+)", msg)
    if m:
        lines.append(f"  => the simulator's reply lacks the element <{m.group(1)}> that the module "
                     "requires (see ANSIBLE-ZAPI-NOTES.md)")
    m = re.search(r"Missing required options? for creating export policy rule", msg)
    if m and "rule_index" in args:
        lines.append("  => the module's export-rule-get-iter by rule-index returned no record, so it "
                     "fell back to creating a rule: the simulator does not match the query")
    if "invalid literal for int()" in msg:
        lines.append("  => a field the module converts with int() is not a decimal/octal-digit "
                     "string (permissions/mode must be like 0755, sizes in bytes)")
    for key in ("exception", "module_stderr", "module_stdout"):
        val = str(res.get(key) or "")
        # Keep the module-side traceback only (ansible appends its own controller-side chain).
        val = val.split("The above target exception", 1)[0].strip()
        if val and val != "(traceback unavailable)" and "13005:Unable to find API" not in msg:
            lines.append(f"  {key}: {val[-2500:]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Fixtures


@contextmanager
def unverified_https():
    saved = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    try:
        yield
    finally:
        ssl._create_default_https_context = saved


@pytest.fixture(scope="module")
def ansible_sim(tmp_path_factory):
    """`ontap-sim serve --ephemeral` with the built-in default topology, for this module only."""
    work = tmp_path_factory.mktemp("ansible-sim")
    proc = SimProcess(["--listen", "127.0.0.1:0", "--ephemeral"], log_path=work / "ontap-sim.stderr.log")
    try:
        yield proc
    finally:
        died = proc.proc.poll() is not None
        code = proc.stop()
        if died:
            pytest.fail(f"ontap-sim died during the Ansible tests (exit code {code}); stderr:\n"
                        f"{proc.stderr()[-5000:]}", pytrace=False)


@pytest.fixture(scope="module")
def ans(ansible_sim, tmp_path_factory):
    return AnsibleRunner(ansible_sim, tmp_path_factory.mktemp("ansible-work"))


@pytest.fixture(autouse=True)
def _ansible_sim_alive(request):
    yield
    if "ansible_sim" in request.fixturenames:
        proc = request.getfixturevalue("ansible_sim")
        if not proc.alive():
            pytest.fail(f"ontap-sim exited with {proc.proc.returncode} during this test; stderr:\n"
                        f"{proc.stderr()[-5000:]}", pytrace=False)


# --------------------------------------------------------------------------------------------
# Helpers


@contextmanager
def step(ans, name, *requires):
    """Run one step: fail at once (naming the cause) when a required earlier step failed, and
    record this step as failed for its own dependants when its body fails.

    A failed *second* run (idempotence) does not stop the step: the state checks still run and
    dependants still run (the object exists); the step fails at its end."""
    for req in requires:
        if req in ans.failed_steps:
            ans.failed_steps[name] = ans.failed_steps[req]
            pytest.fail(f"prerequisite step `{req}` failed earlier, so step `{name}` cannot run; "
                        f"root cause:\n{ans.failed_steps[req]}", pytrace=False)
    ans.deferred.clear()
    try:
        yield
    except BaseException as e:  # pytest.fail raises a BaseException subclass
        text = "\n".join([*ans.deferred, str(e) or type(e).__name__])
        ans.deferred.clear()
        ans.failed_steps[name] = "\n".join(text.splitlines()[:4])[:1500]
        raise
    if ans.deferred:
        text = "\n".join(ans.deferred)
        ans.deferred.clear()
        pytest.fail(text + "\n(the first run and the state checks passed, so later steps still run)",
                    pytrace=False)


def run_ok(ans, module, expect_changed, run_label="", **args):
    res = ans.run(module, **args)
    if res.get("failed") or res.get("unreachable"):
        hint = ""
        if run_label.startswith("[run 2") and re.search(r"already (exists|contains)|duplicate",
                                                        str(res.get("msg", "")), re.I):
            hint = ("\n  => run 1 created the object but run 2's get-iter did not return it, so the "
                    "module tried to create it again: the simulator does not match the module's "
                    "query (see the request in ANSIBLE-ZAPI-NOTES.md)")
        pytest.fail(run_label + explain(module, args, res) + hint, pytrace=False)
    if res.get("changed") is not expect_changed:
        msg = (f"{run_label}netapp.ontap.{module} {json.dumps(args)}: expected changed="
               f"{expect_changed}, got changed={res.get('changed')}; actions={res.get('actions')} "
               f"modify={res.get('modify')}")
        if expect_changed:
            msg += ("\n  => the module saw nothing to do: its get-iter did not return the object "
                    "(state=absent) or returned it already in the desired state")
        else:
            msg += ("\n  => a second run must be a no-op: the get-iter reply differs from what the "
                    "module compares (see `modify` and ANSIBLE-ZAPI-NOTES.md)")
        pytest.fail(msg, pytrace=False)
    return res


def twice(ans, module, **args):
    """First run changes, second run does not. Returns both results."""
    first = run_ok(ans, module, True, "[run 1 of 2] ", **args)
    try:
        second = run_ok(ans, module, False, "[run 2 of 2, must be a no-op] ", **args)
    except (pytest.fail.Exception, AssertionError) as e:
        ans.deferred.append(str(e))
        second = None
    return first, second


def zapi_call(sim, name, inputs=None, vserver=None):
    """Direct netapp-lib call as admin (tunnelled to `vserver` when given); returns NaElement."""
    s = zapi.NaServer(sim.host, server_type="filer", transport_type="https", style="basic_auth",
                      username="admin", password=PASSWORD, port=sim.port)
    s.set_api_version(major=1, minor=110)
    s.set_timeout(30)
    if vserver:
        s.set_vserver(vserver)
    el = zapi.NaElement(name)
    if inputs:
        el.translate_struct(inputs)
    with unverified_https():
        try:
            return s.invoke_successfully(el, enable_tunneling=vserver is not None)
        except zapi.NaApiError as e:
            pytest.fail(f"direct netapp-lib call {name} {inputs} failed: {e.code} {e.message}",
                        pytrace=False)


def records(result, tag=None):
    lst = result.get_child_by_name("attributes-list")
    if lst is None:
        return []
    # get_name() carries the namespace ("{http://www.netapp.com/filer/admin}volume-attributes").
    return [r for r in lst.get_children()
            if tag is None or r.get_name().rsplit("}", 1)[-1] == tag]


def get_volume(sim, name=VOL):
    res = zapi_call(sim, "volume-get-iter", {
        "query": {"volume-attributes": {"volume-id-attributes": {"name": name, "vserver": VSERVER}}}
    })
    recs = records(res, "volume-attributes")
    assert len(recs) <= 1, f"volume-get-iter for {name} returned {len(recs)} records"
    return recs[0] if recs else None


def content(el, *path):
    for p in path:
        el = el.get_child_by_name(p) if el is not None else None
    return el.get_content() if el is not None else None


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def vol_args(**extra):
    return dict({"vserver": VSERVER, "name": VOL}, **extra)


def create_vol_args(size_gb):
    return vol_args(state="present", aggregate_name=AGGR, size=size_gb, size_unit="gb",
                    junction_path=f"/{VOL}", export_policy="default")


def rule_args(**extra):
    return dict({"vserver": VSERVER, "name": POLICY}, **extra)


# --------------------------------------------------------------------------------------------
# Tests (in order; later steps use the objects earlier steps created)


def test_ansible_venv_usable():
    err = _check_ansible_venv()
    if err:
        pytest.fail(err, pytrace=False)


def test_ansible_reaches_simulator(ans):
    """na_ontap_info on a subset the foundation already serves (vserver-get-iter)."""
    with step(ans, "reach"):
        res = run_ok(ans, "na_ontap_info", False, gather_subset=["vserver_info"])
        info = res["ontap_info"]
        assert info["ontapi_version"] == "241", info.get("ontapi_version")
        assert VSERVER in info["vserver_info"], sorted(info["vserver_info"])


def test_volume_create(ans, ansible_sim):
    with step(ans, "volume_create", "reach"):
        twice(ans, "na_ontap_volume", **create_vol_args(10))
        v = get_volume(ansible_sim)
        assert v is not None, "volume-get-iter does not find vol1 after create"
        assert content(v, "volume-space-attributes", "size") == str(10 * GIB)
        assert content(v, "volume-id-attributes", "junction-path") == f"/{VOL}"
        assert content(v, "volume-id-attributes", "containing-aggregate-name") == AGGR
        assert content(v, "volume-export-attributes", "policy") == "default"
        assert content(v, "volume-state-attributes", "state") == "online"


def test_volume_resize(ans, ansible_sim):
    with step(ans, "volume_resize", "volume_create"):
        first, _ = twice(ans, "na_ontap_volume", **create_vol_args(20))
        assert first.get("modify") == {"size": 20 * GIB}, first.get("modify")
        v = get_volume(ansible_sim)
        assert content(v, "volume-space-attributes", "size") == str(20 * GIB)


def test_export_policy(ans, ansible_sim):
    with step(ans, "export_policy", "reach"):
        twice(ans, "na_ontap_export_policy", state="present", vserver=VSERVER, name=POLICY)
        res = zapi_call(ansible_sim, "export-policy-get-iter", {
            "query": {"export-policy-info": {"policy-name": POLICY, "vserver": VSERVER}}})
        recs = records(res, "export-policy-info")
        assert [r.get_child_content("policy-name") for r in recs] == [POLICY]
        assert recs[0].get_child_content("policy-id"), "export-policy-info lacks policy-id"


def _rules(sim):
    res = zapi_call(sim, "export-rule-get-iter", {
        "query": {"export-rule-info": {"policy-name": POLICY, "vserver-name": VSERVER}}})
    return records(res, "export-rule-info")


def _flavors(rule, parent):
    el = rule.get_child_by_name(parent)
    return [c.get_content() for c in el.get_children()] if el is not None else None


def test_export_rule_create(ans, ansible_sim):
    with step(ans, "rule_create", "export_policy"):
        twice(ans, "na_ontap_export_policy_rule", state="present", **rule_args(**RULE))
        rules = _rules(ansible_sim)
        assert len(rules) == 1, f"expected one rule in {POLICY}, got {len(rules)}"
        r = rules[0]
        assert r.get_child_content("rule-index") == "1"
        assert r.get_child_content("client-match") == "0.0.0.0/0"
        assert _flavors(r, "protocol") == ["nfs3"]
        assert _flavors(r, "ro-rule") == ["sys"]
        assert _flavors(r, "rw-rule") == ["sys"]
        assert _flavors(r, "super-user-security") == ["sys"]


def test_snapshot_create(ans, ansible_sim):
    with step(ans, "snapshot_create", "volume_create"):
        twice(ans, "na_ontap_snapshot", state="present", vserver=VSERVER, volume=VOL, snapshot=SNAP)
        res = zapi_call(ansible_sim, "snapshot-get-iter", {
            "query": {"snapshot-info": {"volume": VOL, "vserver": VSERVER}}})
        assert SNAP in [r.get_child_content("name") for r in records(res, "snapshot-info")]


def test_qtree_create(ans, ansible_sim):
    with step(ans, "qtree_create", "volume_create"):
        twice(ans, "na_ontap_qtree", state="present", vserver=VSERVER, flexvol_name=VOL, name=QTREE,
              security_style="unix", unix_permissions="0755", export_policy="default")
        res = zapi_call(ansible_sim, "qtree-list-iter", {
            "query": {"qtree-info": {"volume": VOL, "qtree": QTREE, "vserver": VSERVER}}},
            vserver=VSERVER)
        recs = records(res, "qtree-info")
        assert len(recs) == 1, f"qtree-list-iter for {QTREE}: {len(recs)} records"
        assert recs[0].get_child_content("security-style") == "unix"
        mode = recs[0].get_child_content("mode")
        assert mode in ("0755", "755"), f"qtree mode {mode!r}: the module needs octal digits"


# -- na_ontap_info ---------------------------------------------------------------------------


def info(ans, subset):
    res = run_ok(ans, "na_ontap_info", False, gather_subset=[subset])
    data = res["ontap_info"].get(subset)
    assert data is not None, f"{subset}: the module returned null (no attributes-list in the reply)"
    assert isinstance(data, dict) and "error" not in data, data
    return data


def test_info_aggregate(ans):
    with step(ans, "info_aggregate", "reach"):
        data = info(ans, "aggregate_info")
        assert AGGR in data, sorted(data)
        assert data[AGGR]["aggregate_name"] == AGGR


def test_info_vserver(ans):
    with step(ans, "info_vserver", "reach"):
        data = info(ans, "vserver_info")
        assert VSERVER in data, sorted(data)
        assert data[VSERVER]["vserver_type"] == "data"


def test_info_net_interface(ans):
    with step(ans, "info_net_interface", "reach"):
        data = info(ans, "net_interface_info")
        svm_lifs = {k: v for k, v in data.items() if v.get("vserver") == VSERVER}
        assert svm_lifs, f"no LIF of {VSERVER} in {sorted(data)}"
        assert LIF_ADDRESS in [v.get("address") for v in svm_lifs.values()], svm_lifs
        for key, v in svm_lifs.items():
            assert key == f"{v['interface_name']}:{VSERVER}", key


def test_info_volume(ans):
    with step(ans, "info_volume", "volume_resize"):
        data = info(ans, "volume_info")
        key = f"{VOL}:{VSERVER}"
        assert key in data, sorted(data)
        v = data[key]
        assert v["volume_id_attributes"]["junction_path"] == f"/{VOL}"
        assert v["volume_id_attributes"]["containing_aggregate_name"] == AGGR
        assert v["volume_space_attributes"]["size"] == str(20 * GIB)
        assert v["volume_state_attributes"]["state"] == "online"
        assert v["volume_export_attributes"]["policy"] == "default"


def test_info_export_policy(ans):
    with step(ans, "info_export_policy", "export_policy"):
        data = info(ans, "export_policy_info")
        assert f"{VSERVER}:{POLICY}" in data, sorted(data)
        assert f"{VSERVER}:default" in data, sorted(data)


def test_info_export_rule(ans):
    with step(ans, "info_export_rule", "rule_create"):
        data = info(ans, "export_rule_info")
        key = f"{VSERVER}:{POLICY}:1"
        assert key in data, sorted(data)
        r = data[key]
        assert r["client_match"] == "0.0.0.0/0"
        assert as_list(r["protocol"]["access_protocol"]) == ["nfs3"]
        assert as_list(r["rw_rule"]["security_flavor"]) == ["sys"]


def test_info_snapshot(ans):
    with step(ans, "info_snapshot", "snapshot_create"):
        data = info(ans, "snapshot_info")
        assert f"{VSERVER}:{VOL}:{SNAP}" in data, sorted(data)


# -- modifications and deletions ---------------------------------------------------------------


def test_export_rule_modify(ans, ansible_sim):
    with step(ans, "rule_modify", "rule_create"):
        first, _ = twice(ans, "na_ontap_export_policy_rule", state="present",
                         **rule_args(rule_index=1, rw_rule=["none"]))
        assert first.get("modify") == {"rw_rule": ["none"]}, first.get("modify")
        rules = _rules(ansible_sim)
        assert len(rules) == 1
        assert _flavors(rules[0], "rw-rule") == ["none"]
        assert _flavors(rules[0], "ro-rule") == ["sys"]


def test_export_rule_delete(ans, ansible_sim):
    # The rule as the modify step left it (or as created, when that step failed).
    rw = ["sys"] if "rule_modify" in ans.failed_steps else ["none"]
    with step(ans, "rule_delete", "rule_create"):
        # Matched by attributes (no rule_index): exercises the query + exact-match path.
        twice(ans, "na_ontap_export_policy_rule", state="absent", **rule_args(**dict(RULE, rw_rule=rw)))
        assert _rules(ansible_sim) == []


def test_snapshot_rename(ans, ansible_sim):
    with step(ans, "snapshot_rename", "snapshot_create"):
        twice(ans, "na_ontap_snapshot", state="present", vserver=VSERVER, volume=VOL,
              snapshot=SNAP_RENAMED, from_name=SNAP)
        res = zapi_call(ansible_sim, "snapshot-get-iter", {
            "query": {"snapshot-info": {"volume": VOL, "vserver": VSERVER}}})
        names = [r.get_child_content("name") for r in records(res, "snapshot-info")]
        assert SNAP_RENAMED in names and SNAP not in names, names


def test_snapshot_delete(ans, ansible_sim):
    # Deletes the renamed snapshot, or the original one when the rename step failed.
    name = SNAP if "snapshot_rename" in ans.failed_steps else SNAP_RENAMED
    with step(ans, "snapshot_delete", "snapshot_create"):
        twice(ans, "na_ontap_snapshot", state="absent", vserver=VSERVER, volume=VOL, snapshot=name)
        res = zapi_call(ansible_sim, "snapshot-get-iter", {
            "query": {"snapshot-info": {"volume": VOL, "vserver": VSERVER}}})
        assert name not in [r.get_child_content("name") for r in records(res, "snapshot-info")]


def test_qtree_rename(ans):
    with step(ans, "qtree_rename", "qtree_create"):
        twice(ans, "na_ontap_qtree", state="present", vserver=VSERVER, flexvol_name=VOL,
              name=QTREE_RENAMED, from_name=QTREE)


def test_qtree_delete(ans, ansible_sim):
    # Deletes the renamed qtree, or the original one when the rename step failed.
    name = QTREE if "qtree_rename" in ans.failed_steps else QTREE_RENAMED
    with step(ans, "qtree_delete", "qtree_create"):
        twice(ans, "na_ontap_qtree", state="absent", vserver=VSERVER, flexvol_name=VOL, name=name)
        res = zapi_call(ansible_sim, "qtree-list-iter", {
            "query": {"qtree-info": {"volume": VOL, "vserver": VSERVER}}}, vserver=VSERVER)
        left = [r.get_child_content("qtree") for r in records(res, "qtree-info")]
        assert QTREE_RENAMED not in left and QTREE not in left, left


def test_volume_offline(ans, ansible_sim):
    with step(ans, "volume_offline", "volume_create"):
        first, _ = twice(ans, "na_ontap_volume", **vol_args(state="present", is_online=False))
        assert first.get("modify") == {"is_online": False}, first.get("modify")
        v = get_volume(ansible_sim)
        assert content(v, "volume-state-attributes", "state") == "offline"


def test_volume_delete(ans, ansible_sim):
    with step(ans, "volume_delete", "volume_create"):
        twice(ans, "na_ontap_volume", **vol_args(state="absent"))
        assert get_volume(ansible_sim) is None, "vol1 still listed by volume-get-iter after delete"
