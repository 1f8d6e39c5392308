"""docs/openapi.yaml against the running simulator.

* The document is valid OpenAPI 3.0 (the OpenAPI 3.0 meta-schema schemathesis ships) and every
  operation it lists is served: a request to each answers neither 405 nor 404 with code "3" (API
  not found). The reverse, every served route documented, is `cargo test --test rest_openapi`,
  which compares the document with the routing table.
* Real responses validate against the documented schemas: a scenario that creates, reads, changes
  and deletes one object of every kind calls all operations and checks each answer (status, content
  type, body schema) with schemathesis' conformance checks.
* schemathesis fuzzes every operation from the document (positive and negative data, a fixed seed,
  a bounded number of examples per operation): never a 5xx, every 4xx an ONTAP error body
  (`error.message`, `error.code` a string of digits), every answer within the request timeout,
  2xx bodies as documented; afterwards the simulator still answers its control API, ZAPI and REST.

This module runs its own simulator (same topology as the session one) so that what the fuzzer
creates cannot disturb other modules.
"""

import base64
import json
import os
import socket
import ssl
import time
import urllib.request
import zlib
from pathlib import Path

import jsonschema
import pytest
import requests
import schemathesis
import yaml
from netapp_lib.api.zapi import zapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.specs.openapi.definitions import OPENAPI_30

from conftest import TOPOLOGY, Sim
from simproc import PASSWORD, REPO_ROOT, SimProcess

DOC_PATH = REPO_ROOT / "docs" / "openapi.yaml"
DOC = yaml.safe_load(DOC_PATH.read_text("utf-8"))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
AUTH_HEADER = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
# Every request must be answered well within this (seconds: connect, read).
TIMEOUT = (5, 20)

# Fixed seed and a fixed number of examples per operation, so CI runs the same cases every time
# (well under a minute). ONTAP_SIM_FUZZ_EXAMPLES / ONTAP_SIM_FUZZ_SEED widen a local hunt.
CONFIG = schemathesis.Config.from_dict({
    "seed": int(os.environ.get("ONTAP_SIM_FUZZ_SEED", "20260731")),
    "generation": {
        "mode": "all",
        "deterministic": True,
        "database": "none",
        "max-examples": int(os.environ.get("ONTAP_SIM_FUZZ_EXAMPLES", "12")),
        "with-security-parameters": False,
    },
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
})
SCHEMA = schemathesis.openapi.from_path(DOC_PATH, config=CONFIG)


def documented_operations():
    for path, item in DOC["paths"].items():
        for method in item:
            if method in METHODS:
                yield method.upper(), path


def resolve(node):
    """Follow local `$ref`s (JSON pointers into the document)."""
    while isinstance(node, dict) and "$ref" in node:
        target = DOC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def response_schema(method, path, status):
    responses = DOC["paths"][path][method.lower()]["responses"]
    response = resolve(responses.get(str(status)) or responses[f"{str(status)[0]}XX"])
    return resolve(response["content"]["application/json"]["schema"])


def undocumented(value, schema, at=""):
    """Paths in a JSON value that the schema does not describe."""
    schema = resolve(schema)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k, v in value.items():
            if k not in props:
                yield f"{at}.{k}".lstrip(".")
            else:
                yield from undocumented(v, props[k], f"{at}.{k}")
    elif isinstance(value, list) and "items" in schema:
        for v in value:
            yield from undocumented(v, schema["items"], at)


def leaf_fields(schema, at=""):
    """Every documented field path of a record schema, dotted as `fields=` takes them."""
    schema = resolve(schema)
    if schema.get("type") == "array":
        yield from leaf_fields(schema.get("items", {}), at)
    elif schema.get("properties"):
        for k, v in schema["properties"].items():
            yield from leaf_fields(v, f"{at}.{k}")
    else:
        yield at.lstrip(".")


# -- the simulator ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A simulator for this module only (overrides the session one from conftest)."""
    state_dir = tmp_path_factory.mktemp("ontap-sim-openapi")
    proc = SimProcess(
        [
            "--listen", "127.0.0.1:0",
            "--nfs-listen", "127.0.0.1:0",
            "--admin-listen", "127.0.0.1:0",
            "--state-dir", state_dir,
            "--config", TOPOLOGY,
        ],
        log_path=state_dir / "ontap-sim.stderr.log",
    )
    s = Sim(proc, state_dir)
    # netapp-lib (the ZAPI health check) opens HTTPS with urllib's default context; accept the
    # self-signed chain as conftest's session simulator does.
    saved = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    try:
        yield s
    finally:
        ssl._create_default_https_context = saved
        died = proc.proc.poll() is not None
        code = proc.stop()
        if died and not s.death_reported:
            pytest.fail(f"ontap-sim died (exit code {code}); stderr:\n{proc.stderr()}", pytrace=False)


@pytest.fixture(scope="module")
def base_url(sim):
    return f"https://{sim.host}:{sim.port}/api"


@pytest.fixture(scope="module")
def http(sim):
    s = requests.Session()
    s.trust_env = False  # no proxies, and REQUESTS_CA_BUNDLE must not replace the simulator's CA
    s.headers["Authorization"] = AUTH_HEADER
    s.verify = str(sim.ca_path)
    return s


def call(case, base_url, http):
    return case.call(base_url=base_url, session=http, headers={"Authorization": AUTH_HEADER},
                     timeout=TIMEOUT, verify=http.verify)


def ontap_error_body(response):
    """An ONTAP error: {"error": {"message": str, "code": "<digits>", "target"?: str}}."""
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} without a JSON body: {response.content[:300]!r}") from None
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"], body
    assert isinstance(err.get("code"), str) and err["code"].isdigit(), body
    assert isinstance(err.get("target", ""), str), body
    return err


@schemathesis.check
def ontap_error_on_4xx(ctx, response, case):
    """Every 4xx carries ONTAP's error body."""
    if 400 <= response.status_code < 500:
        ontap_error_body(response)
    return None


CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance,
               response_schema_conformance, ontap_error_on_4xx]


# -- the document -----------------------------------------------------------------------------------

def test_document_is_openapi_3_0():
    errors = sorted(jsonschema.Draft4Validator(OPENAPI_30).iter_errors(DOC), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    ops = list(documented_operations())
    assert len(ops) == len(set(ops))
    # Every $ref resolves (schemathesis resolves them while building each operation).
    for result in SCHEMA.get_all_operations():
        result.ok()
    assert DOC["components"]["securitySchemes"]["basic_auth"] == {
        "type": "http", "scheme": "basic",
        "description": DOC["components"]["securitySchemes"]["basic_auth"]["description"]}
    for name in ("volume", "snapshot", "export_policy", "export_rule", "qtree", "svm", "aggregate",
                 "ip_interface", "job", "cluster", "node", "error_response", "job_link_response"):
        assert name in DOC["components"]["schemas"], name


def test_every_documented_operation_is_served(base_url, http):
    """No documented (method, path) answers 405 or 404 "API not found" (code 3). Path variables
    name nothing that exists, so nothing is changed: the answers are 404 "entry doesn't exist" (or
    400 for a body the operation refuses)."""
    dummies = {"uuid": "00000000-0000-0000-0000-000000000000", "volume_uuid":
               "00000000-0000-0000-0000-000000000000", "id": "999999", "policy_id": "999999",
               "index": "999999", "owner_uuid": "00000000-0000-0000-0000-000000000000",
               "name": "no_such_package", "path": "no_such", "group": "no_such_group"}
    for method, path in documented_operations():
        url = base_url + path.format(**dummies)
        r = http.request(method, url, data=b"{}" if method in ("POST", "PATCH") else None,
                         headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
        err = ontap_error_body(r) if r.status_code >= 400 else {}
        assert r.status_code != 405 and err.get("code") != "3", (method, path, r.status_code, r.text)


def test_undocumented_methods_are_refused_with_405(base_url, http):
    for path, item in DOC["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        url = base_url + path.format(uuid="x", volume_uuid="x", id="1", policy_id="1", index="1",
                                     owner_uuid="x", name="x", path="x", group="x")
        for method in {"GET", "POST", "PATCH", "DELETE", "PUT"} - documented:
            r = http.request(method, url, timeout=TIMEOUT)
            assert r.status_code == 405, (method, path, r.status_code)
            assert ontap_error_body(r)["code"] == "3"
            assert set(r.headers["Allow"].replace(" ", "").split(",")) == documented, (path, r.headers)


# -- real responses against the schemas -------------------------------------------------------------

class Scenario:
    """Calls operations through schemathesis and validates each answer against the document."""

    def __init__(self, base_url, http):
        self.base_url = base_url
        self.http = http
        self.seen = {}

    def __call__(self, method, path, status, path_parameters=None, query=None, body=None):
        op = SCHEMA[path][method]
        kwargs = {"path_parameters": path_parameters or {}, "query": query or {}}
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = op.Case(**kwargs)
        r = call(case, self.base_url, self.http)
        assert r.status_code == status, (method, path, query, body, r.status_code, r.text)
        case.validate_response(r, checks=CONFORMANCE)
        # Conformance allows fields a schema does not name; the document must name them all.
        extra = sorted(set(undocumented(r.json(), response_schema(method, path, r.status_code))))
        assert not extra, f"{method} {path}: fields the document lacks: {extra}"
        self.seen.setdefault((method, path), set()).add(r.status_code)
        return r.json()

    def job_done(self, reply, state="success"):
        uuid = reply["job"]["uuid"]
        deadline = time.monotonic() + 60  # polled to its end, however loaded the machine is
        while True:
            job = self("GET", "/cluster/jobs/{uuid}", 200, {"uuid": uuid})
            if job["state"] in ("success", "failure") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert job["state"] == state, job
        return job


def test_real_responses_match_the_document(base_url, http):
    s = Scenario(base_url, http)
    s("GET", "/cluster", 200)
    s("GET", "/cluster", 200, query={"fields": "version,san_optimized,disaggregated",
                                     "ignore_unknown_fields": "true"})
    s("GET", "/cluster/software", 200)
    node = s("GET", "/cluster/nodes", 200, query={"fields": "**", "name": "*"})["records"][0]
    s("GET", "/cluster/nodes/{uuid}", 200, {"uuid": node["uuid"]})
    svm = s("GET", "/svm/svms", 200, query={"fields": "**", "name": "svm1"})["records"][0]
    assert svm["aggregates"] and svm["state"] == "running"
    s("GET", "/svm/svms/{uuid}", 200, {"uuid": svm["uuid"]})
    peers = s("GET", "/svm/peers", 200, query={"fields": "peer.svm.name", "svm.uuid": svm["uuid"]})
    assert peers["num_records"] == 0 and peers["records"] == []
    aggr = s("GET", "/storage/aggregates", 200, query={"fields": "**"})["records"][0]
    s("GET", "/storage/aggregates/{uuid}", 200, {"uuid": aggr["uuid"]})
    lif = s("GET", "/network/ip/interfaces", 200,
            query={"fields": "**", "services": "data_nfs", "svm.uuid": svm["uuid"]})["records"][0]
    s("GET", "/network/ip/interfaces/{uuid}", 200, {"uuid": lif["uuid"]})

    # Volumes and jobs.
    created = s("POST", "/storage/volumes", 202, query={"return_records": "true"}, body={
        "name": "oa_vol", "size": 200 * 2**20, "svm": {"name": "svm1"},
        "aggregates": [{"name": aggr["name"]}], "nas": {"path": "/oa_vol", "security_style": "unix",
                                                        "unix_permissions": 755},
        "guarantee": {"type": "none"}, "snapshot_policy": {"name": "none"},
        "space": {"snapshot": {"reserve_percent": 0}}, "comment": "openapi"})
    job = s.job_done(created)
    assert isinstance(job["code"], int)
    s("GET", "/cluster/jobs", 200, query={"fields": "**", "state": "success"})
    vol = s("GET", "/storage/volumes", 200,
            query={"fields": "**", "name": "oa_vol", "svm.name": "svm1"})["records"][0]
    assert vol["uuid"] == created["records"][0]["uuid"]
    vol_id = {"uuid": vol["uuid"]}
    s("GET", "/storage/volumes", 200, query={"return_records": "false", "max_records": 1})
    s("GET", "/storage/volumes/{uuid}", 200, vol_id)
    s("GET", "/storage/volumes/{uuid}", 200, vol_id, query={"fields": "nas.path,space"})
    s.job_done(s("PATCH", "/storage/volumes/{uuid}", 202, vol_id,
                 body={"size": 300 * 2**20, "comment": "changed", "nas": {"unix_permissions": 700}}))
    s("PATCH", "/storage/volumes/{uuid}", 200, vol_id, query={"return_timeout": 10},
      body={"snapshot_directory_access_enabled": False})

    # Snapshots, a FlexClone of one, a restore.
    snap_in = {"volume_uuid": vol["uuid"]}
    s.job_done(s("POST", "/storage/volumes/{volume_uuid}/snapshots", 202, snap_in,
                 query={"return_records": "true"}, body={"name": "oa_snap", "svm": {"name": "svm1"}}))
    snap = s("GET", "/storage/volumes/{volume_uuid}/snapshots", 200, snap_in,
             query={"fields": "**", "name": "oa_snap"})["records"][0]
    assert snap["create_time"]
    snap_id = {"volume_uuid": vol["uuid"], "uuid": snap["uuid"]}
    s("GET", "/storage/volumes/{volume_uuid}/snapshots/{uuid}", 200, snap_id)
    s.job_done(s("PATCH", "/storage/volumes/{volume_uuid}/snapshots/{uuid}", 202, snap_id,
                 body={"comment": "kept", "snapmirror_label": "daily"}))
    bulk = s("PATCH", "/storage/volumes/{volume_uuid}/snapshots", 202, snap_in,
             query={"name": "oa_snap"}, body={"comment": "kept"})
    s.job_done({"job": bulk["jobs"][0]})
    s("DELETE", "/storage/volumes/{volume_uuid}/snapshots", 200, snap_in, query={"name": "oa_none"})
    bulk = s("PATCH", "/storage/volumes", 202, query={"name": "oa_vol", "order_by": "name desc"},
             body={"comment": "bulk"})
    assert bulk["num_records"] == 1, bulk
    s.job_done({"job": bulk["jobs"][0]})
    s("DELETE", "/storage/volumes", 200, query={"name": "oa_none"})
    s("POST", "/storage/volumes", 201, query={"return_timeout": 10}, body={
        "name": "oa_clone", "svm": {"name": "svm1"}, "clone": {
            "is_flexclone": True, "parent_volume": {"name": "oa_vol"},
            "parent_snapshot": {"name": "oa_snap"}}})
    clone = s("GET", "/storage/volumes", 200,
              query={"fields": "**", "clone.parent_volume.name": "oa_vol"})["records"][0]
    assert clone["clone"]["parent_snapshot"]["name"] == "oa_snap"
    s.job_done(s("DELETE", "/storage/volumes/{volume_uuid}/snapshots/{uuid}", 202, snap_id),
               state="failure")  # the clone still needs it (1638555)
    s.job_done(s("PATCH", "/storage/volumes/{uuid}", 202, vol_id,
                 query={"restore_to.snapshot.name": "oa_snap"}))

    # Export policies and rules.
    pol = s("POST", "/protocols/nfs/export-policies", 201, query={"return_records": "true"}, body={
        "name": "oa_policy", "svm": {"name": "svm1"}, "rules": [{
            "clients": [{"match": "10.0.0.0/8"}], "protocols": ["nfs"], "ro_rule": ["sys"],
            "rw_rule": ["sys"], "superuser": ["none"]}]})["records"][0]
    pol_id = {"id": pol["id"]}
    s("GET", "/protocols/nfs/export-policies", 200, query={"fields": "**", "svm.name": "svm1"})
    s("GET", "/protocols/nfs/export-policies/{id}", 200, pol_id)
    rules_of = {"policy_id": pol["id"]}
    rule = s("POST", "/protocols/nfs/export-policies/{policy_id}/rules", 201, rules_of,
             query={"return_records": "true"}, body={
                 "clients": [{"match": "192.168.1.5"}], "protocols": ["nfs3"], "ro_rule": ["any"],
                 "rw_rule": ["any"], "superuser": ["any"], "anonymous_user": "65534",
                 "allow_suid": True})["records"][0]
    s("GET", "/protocols/nfs/export-policies/{policy_id}/rules", 200, rules_of,
      query={"fields": "**"})
    rule_id = {"policy_id": pol["id"], "index": rule["index"]}
    s("GET", "/protocols/nfs/export-policies/{policy_id}/rules/{index}", 200, rule_id)
    s("PATCH", "/protocols/nfs/export-policies/{policy_id}/rules/{index}", 200, rule_id,
      body={"clients": [{"match": "192.168.1.6"}], "rw_rule": ["never"]})
    s("PATCH", "/protocols/nfs/export-policies/{id}", 200, pol_id, body={"name": "oa_policy2"})
    # PATCH and DELETE of collections by query (a query that selects nothing changes nothing).
    s("PATCH", "/protocols/nfs/export-policies/{policy_id}/rules", 200, rules_of,
      query={"index": str(rule["index"])}, body={"rw_rule": ["never"]})
    s("DELETE", "/protocols/nfs/export-policies/{policy_id}/rules", 200, rules_of,
      query={"index": "999"})
    s("PATCH", "/protocols/nfs/export-policies", 200, query={"name": "oa_none"},
      body={"name": "oa_other"})
    s("DELETE", "/protocols/nfs/export-policies", 200, query={"name": "oa_none"})
    s("DELETE", "/protocols/nfs/export-policies/{policy_id}/rules/{index}", 200, rule_id)

    # Qtrees.
    s.job_done(s("POST", "/storage/qtrees", 202, body={
        "name": "oa_qtree", "svm": {"name": "svm1"}, "volume": {"name": "oa_vol"},
        "security_style": "unix", "unix_permissions": 755, "export_policy": {"name": "oa_policy2"}}))
    qt = s("GET", "/storage/qtrees", 200, query={"fields": "**", "name": "oa_qtree"})["records"][0]
    qt_id = {"volume_uuid": vol["uuid"], "id": qt["id"]}
    s("GET", "/storage/qtrees/{volume_uuid}/{id}", 200, qt_id)
    s.job_done(s("PATCH", "/storage/qtrees/{volume_uuid}/{id}", 202, qt_id,
                 body={"unix_permissions": 770}))
    bulk = s("PATCH", "/storage/qtrees", 202, query={"name": "oa_qtree", "volume.name": "oa_vol"},
             body={"unix_permissions": 775})
    s.job_done({"job": bulk["jobs"][0]})
    s("DELETE", "/storage/qtrees", 200, query={"name": "oa_none"})
    # Quotas: a default and a qtree rule, quotas on, the report, then the rule and quotas gone.
    s.job_done(s("POST", "/storage/quota/rules", 202, body={
        "svm": {"name": "svm1"}, "volume": {"name": "oa_vol"}, "type": "tree", "qtree": {"name": ""}}))
    s.job_done(s("POST", "/storage/quota/rules", 202, query={"return_records": "true"}, body={
        "svm": {"name": "svm1"}, "volume": {"name": "oa_vol"}, "type": "tree",
        "qtree": {"name": "oa_qtree"}, "space": {"hard_limit": 2**20}, "files": {"hard_limit": 10}}))
    rules = s("GET", "/storage/quota/rules", 200, query={"fields": "**", "qtree.name": "oa_qtree"})
    rule_id = {"uuid": rules["records"][0]["uuid"]}
    s("GET", "/storage/quota/rules/{uuid}", 200, rule_id)
    s.job_done(s("PATCH", "/storage/volumes/{uuid}", 202, vol_id, body={"quota": {"enabled": True}}))
    s.job_done(s("PATCH", "/storage/quota/rules/{uuid}", 202, rule_id,
                 body={"space": {"hard_limit": 2**21, "soft_limit": "-"}}))
    rep = s("GET", "/storage/quota/reports", 200, query={"fields": "**", "volume.name": "oa_vol"})
    assert rep["num_records"] == 1, rep
    s("GET", "/storage/quota/reports/{volume_uuid}/{index}", 200,
      {"volume_uuid": vol["uuid"], "index": rep["records"][0]["index"]})
    bulk = s("PATCH", "/storage/quota/rules", 202, query={"qtree.name": "oa_qtree"},
             body={"files": {"hard_limit": 20}})
    s.job_done({"job": bulk["jobs"][0]})
    s("DELETE", "/storage/quota/rules", 200, query={"qtree.name": "oa_none"})
    s.job_done(s("DELETE", "/storage/quota/rules/{uuid}", 202, rule_id))
    s.job_done(s("PATCH", "/storage/volumes/{uuid}", 202, vol_id, body={"quota": {"enabled": False}}))
    s.job_done(s("DELETE", "/storage/qtrees/{volume_uuid}/{id}", 202, qt_id))

    # SnapMirror (none), EMS.
    sm = s("GET", "/snapmirror/relationships", 200,
           query={"list_destinations_only": "true", "fields": "source.path,destination.path"})
    assert sm["num_records"] == 0 and sm["records"] == []
    s("GET", "/snapmirror/relationships/{uuid}", 404, {"uuid": snap["uuid"]})
    s("DELETE", "/snapmirror/relationships/{uuid}", 404, {"uuid": snap["uuid"]},
      query={"destination_only": "true"})
    s("POST", "/support/ems/application-logs", 201, query={"return_records": "true"}, body={
        "app_version": "1", "autosupport_required": False, "category": "heartbeat",
        "computer_name": "host1", "event_description": "{}", "event_id": 1,
        "event_source": "trident", "severity": "notice"})

    # Users and roles: a custom role with privileges, a user with it, then both gone.
    s("POST", "/security/roles", 201, body={
        "name": "oa_role", "owner": {"name": "svm1"},
        "privileges": [{"path": "/api/storage/volumes", "access": "readonly"},
                       {"path": "volume snapshot", "access": "all"}]})
    role = s("GET", "/security/roles", 200,
             query={"fields": "**", "name": "oa_role"})["records"][0]
    assert role["builtin"] is False and role["scope"] == "svm", role
    role_id = {"owner_uuid": role["owner"]["uuid"], "name": "oa_role"}
    s("GET", "/security/roles/{owner_uuid}/{name}", 200, role_id)
    s("POST", "/security/roles/{owner_uuid}/{name}/privileges", 201, role_id,
      body={"path": "vserver", "access": "readonly"})
    privs = s("GET", "/security/roles/{owner_uuid}/{name}/privileges", 200, role_id,
              query={"fields": "**"})
    assert [p["path"] for p in privs["records"]] == [
        "/api/storage/volumes", "volume snapshot", "vserver"], privs
    priv_id = dict(role_id, path="vserver")
    s("GET", "/security/roles/{owner_uuid}/{name}/privileges/{path}", 200, priv_id)
    s("PATCH", "/security/roles/{owner_uuid}/{name}/privileges/{path}", 200, priv_id,
      body={"access": "all"})
    s("DELETE", "/security/roles/{owner_uuid}/{name}/privileges/{path}", 200, priv_id)
    s("POST", "/security/accounts", 201, body={
        "name": "oa_user", "owner": {"name": "svm1"}, "role": {"name": "oa_role"},
        "password": "Secret123", "applications": [
            {"application": "http", "authentication_methods": ["password"]}]})
    acc = s("GET", "/security/accounts", 200,
            query={"fields": "**", "name": "oa_user"})["records"][0]
    acc_id = {"owner_uuid": acc["owner"]["uuid"], "name": "oa_user"}
    s("GET", "/security/accounts/{owner_uuid}/{name}", 200, acc_id)
    s("PATCH", "/security/accounts/{owner_uuid}/{name}", 200, acc_id,
      body={"locked": True, "comment": "openapi"})
    s("DELETE", "/security/roles/{owner_uuid}/{name}", 409, role_id)  # still in use
    s("DELETE", "/security/accounts/{owner_uuid}/{name}", 200, acc_id)
    s("DELETE", "/security/roles/{owner_uuid}/{name}", 200, role_id)

    # Errors are documented too.
    s("GET", "/storage/volumes/{uuid}", 404, {"uuid": "no-such-volume"})
    s("GET", "/storage/volumes", 400, query={"fields": "no_such_field"})
    s("POST", "/storage/volumes", 400, body={"name": "oa_bad", "svm": {"name": "svm1"},
                                               "size": "big"})

    # Day 0: an SVM with a LIF and an NFS service, changed, then deleted.
    s.job_done(s("POST", "/svm/svms", 202, query={"return_records": "true"}, body={
        "name": "oa_svm", "aggregates": [{"name": aggr["name"]}], "comment": "openapi"}))
    nsvm = s("GET", "/svm/svms", 200, query={"fields": "**", "name": "oa_svm"})["records"][0]
    nsvm_id = {"uuid": nsvm["uuid"]}
    s.job_done(s("PATCH", "/svm/svms/{uuid}", 202, nsvm_id, body={"comment": "changed"}))
    s("POST", "/network/ip/interfaces", 201, body={
        "name": "oa_lif", "svm": {"name": "oa_svm"}, "ip": {"address": "192.0.2.10", "netmask": "24"},
        "location": {"home_node": {"name": node["name"]}},
        "service_policy": {"name": "default-data-files"}})
    nlif = s("GET", "/network/ip/interfaces", 200,
             query={"fields": "**", "name": "oa_lif"})["records"][0]
    s("PATCH", "/network/ip/interfaces/{uuid}", 200, {"uuid": nlif["uuid"]}, body={"enabled": False})
    s("POST", "/protocols/nfs/services", 201,
      body={"svm": {"name": "oa_svm"}, "protocol": {"v41_enabled": True}})
    s("GET", "/protocols/nfs/services", 200, query={"fields": "**"})
    s("GET", "/protocols/nfs/services/{uuid}", 200, nsvm_id)
    s("PATCH", "/protocols/nfs/services/{uuid}", 200, nsvm_id, body={"enabled": False})
    s("DELETE", "/protocols/nfs/services/{uuid}", 200, nsvm_id)
    s("DELETE", "/network/ip/interfaces/{uuid}", 200, {"uuid": nlif["uuid"]})
    s("POST", "/name-services/dns", 201, body={"svm": {"name": "oa_svm"},
                                               "domains": ["lab.example"], "servers": ["192.0.2.53"]})
    s("GET", "/name-services/dns", 200, query={"fields": "**"})
    s("GET", "/name-services/dns/{uuid}", 200, nsvm_id)
    s("PATCH", "/name-services/dns/{uuid}", 200, nsvm_id, body={"servers": ["192.0.2.54"]})
    s("DELETE", "/name-services/dns/{uuid}", 200, nsvm_id)
    # Its local UNIX users and groups.
    s("POST", "/name-services/unix-users", 201, body={
        "svm": {"name": "oa_svm"}, "name": "oa_user", "id": 7001, "primary_gid": 70,
        "full_name": "Open API"})
    s("GET", "/name-services/unix-users", 200, query={"fields": "**"})
    uid = {"uuid": nsvm["uuid"], "name": "oa_user"}
    s("GET", "/name-services/unix-users/{uuid}/{name}", 200, uid)
    s("PATCH", "/name-services/unix-users/{uuid}/{name}", 200, uid, body={"primary_gid": 71})
    s("POST", "/name-services/unix-groups", 201, body={
        "svm": {"name": "oa_svm"}, "name": "oa_group", "id": 70})
    s("GET", "/name-services/unix-groups", 200, query={"fields": "**"})
    gid = {"uuid": nsvm["uuid"], "name": "oa_group"}
    s("GET", "/name-services/unix-groups/{uuid}/{name}", 200, gid)
    s("PATCH", "/name-services/unix-groups/{uuid}/{name}", 200, gid, body={"id": 71})
    s("POST", "/name-services/unix-groups/{uuid}/{group}/users", 201,
      {"uuid": nsvm["uuid"], "group": "oa_group"}, body={"records": [{"name": "oa_user"}]})
    s("DELETE", "/name-services/unix-groups/{uuid}/{group}/users/{name}", 200,
      {"uuid": nsvm["uuid"], "group": "oa_group", "name": "oa_user"})
    s("DELETE", "/name-services/unix-groups/{uuid}/{name}", 200, gid)
    s("DELETE", "/name-services/unix-users/{uuid}/{name}", 200, uid)
    s.job_done(s("DELETE", "/svm/svms/{uuid}", 202, nsvm_id))
    s("GET", "/cluster/licensing/licenses", 200, query={"fields": "**", "state": "compliant,unlicensed"})
    s("POST", "/cluster/licensing/licenses", 201, body={"keys": ["SIMSNAPVAULTXXXXXXXXXXXXXXXX"]})
    s("GET", "/cluster/licensing/licenses/{name}", 200, {"name": "snapvault"})
    s("DELETE", "/cluster/licensing/licenses/{name}", 200, {"name": "snapvault"})
    cl = s("GET", "/cluster", 200, query={"fields": "location"})
    s.job_done(s("PATCH", "/cluster", 202, body={"location": "openapi lab"}))
    s.job_done(s("PATCH", "/cluster", 202, body={"location": cl.get("location", "")}))

    # Deletes, clone first.
    s.job_done(s("DELETE", "/storage/volumes/{uuid}", 202, {"uuid": clone["uuid"]},
                 query={"force": "true"}))
    s.job_done(s("DELETE", "/storage/volumes/{volume_uuid}/snapshots/{uuid}", 202, snap_id))
    s("DELETE", "/storage/volumes/{uuid}", 200, vol_id, query={"force": "false",
                                                                 "return_timeout": 10})
    s("DELETE", "/protocols/nfs/export-policies/{id}", 200, pol_id)

    missing = set(documented_operations()) - set(s.seen)
    assert not missing, f"operations the scenario did not call: {sorted(missing)}"
    unanswered = {op for op, codes in s.seen.items()
                  if not any(c < 300 for c in codes) and op[1] != "/snapmirror/relationships/{uuid}"}
    assert not unanswered, f"operations never answered with success: {sorted(unanswered)}"


def test_documented_fields_are_served_fields(base_url, http):
    """Every field a collection's record schema documents is one the server knows: asking for all
    of them by name is not refused (an unknown name in `fields` is, with 262197)."""
    vol = http.get(f"{base_url}/storage/volumes", params={"name": "svm1_root"},
                   timeout=TIMEOUT).json()["records"][0]["uuid"]
    policy = http.get(f"{base_url}/protocols/nfs/export-policies", params={"name": "default"},
                      timeout=TIMEOUT).json()["records"][0]["id"]
    cluster = http.get(f"{base_url}/cluster", timeout=TIMEOUT).json()["uuid"]
    for method, path in documented_operations():
        envelope = response_schema(method, path, 200) if method == "GET" else {}
        if "records" not in envelope.get("properties", {}):
            continue  # not a collection
        record = envelope["properties"]["records"]["items"]
        fields = sorted(set(leaf_fields(record)))
        assert len(fields) > 3, (path, fields)
        url = base_url + path.format(volume_uuid=vol, policy_id=policy, owner_uuid=cluster,
                                     name="admin")
        r = http.get(url, params={"fields": ",".join(fields)}, timeout=TIMEOUT)
        assert r.status_code == 200, (path, r.text)


def tls_request(sim, raw: bytes) -> bytes:
    """One request written byte for byte (no client-side encoding); the whole answer."""
    ctx = ssl.create_default_context(cafile=str(sim.ca_path))
    with socket.create_connection((sim.host, sim.port), timeout=20) as tcp:
        with ctx.wrap_socket(tcp, server_hostname=sim.host) as tls:
            tls.sendall(raw)
            out = b""
            while chunk := tls.recv(65536):
                out += chunk
            return out


def raw_get(sim, target: bytes, method=b"GET", body=b""):
    answer = tls_request(sim, method + b" " + target + b" HTTP/1.1\r\nHost: sim\r\n"
                         b"Authorization: " + AUTH_HEADER.encode() + b"\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, head, payload


def test_hostile_requests_get_ontap_errors(sim, base_url, http):
    """Inputs the fuzzer does not produce that once broke the REST front."""
    # A malformed escape before a multi-byte character (was a panic slicing the message).
    status, _, body = raw_get(sim, b"/api/storage/volumes?name=%z\xc3\xa9")
    assert status == 400 and json.loads(body)["error"]["code"] == "262197", body
    # Thousands of negations in a filter (were one stack frame each: the process died).
    status, _, body = raw_get(sim, b"/api/svm/svms?name=" + b"!" * 60001 + b"svm9")
    assert status == 200 and json.loads(body)["num_records"] == 2, body[-200:]
    # max_records=0 gave a `next` link to itself, forever.
    r = http.get(f"{base_url}/svm/svms", params={"max_records": 0}, timeout=TIMEOUT)
    assert r.status_code == 400 and ontap_error_body(r)["code"] == "262197"
    # A body over the limit, or unreadable: ONTAP's error body, not plain text.
    r = http.post(f"{base_url}/storage/volumes", data=b" " * (9 * 2**20), timeout=TIMEOUT)
    assert r.status_code == 413 and ontap_error_body(r)["message"]
    # A variable that is not UTF-8 still names the route: "no such volume", not "no such API".
    status, _, body = raw_get(sim, b"/api/storage/volumes/%FF")
    assert status == 404 and json.loads(body)["error"]["code"] == "4", body
    # JSON nested beyond serde's limit, and JSON that is not an object.
    for bad in (b'{"name":' + b"[" * 5000 + b"}", b"[1, 2]", b'"x"', b"\xff\xfe"):
        r = http.post(f"{base_url}/storage/volumes", data=bad, timeout=TIMEOUT)
        assert r.status_code == 400 and ontap_error_body(r)["code"] == "262185", r.text
    # Wrong credentials, and a method the path does not have.
    r = requests.get(f"{base_url}/cluster", auth=("admin", "wrong"), verify=http.verify,
                     timeout=TIMEOUT)
    assert r.status_code == 401 and ontap_error_body(r)["code"] == "6"
    r = http.options(f"{base_url}/storage/volumes", timeout=TIMEOUT)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST, PATCH, DELETE"
    assert sim.proc.alive()


# -- fuzzing ----------------------------------------------------------------------------------------

# Objects the fuzzer's path variables and bodies are steered to part of the time, so it reaches the
# handlers' and the model's checks rather than only "not found". Filled by `fuzz_targets`.
TARGETS = {}


def _pick(*value) -> bool:
    """A deterministic coin: the same generated case always lands the same way."""
    return zlib.crc32(repr(value).encode()) % 3 != 0


def steer(case):
    """Point part of the generated cases at objects that exist (in every phase: schemathesis'
    coverage phase does not run generation hooks). DELETEs keep their generated variables, so the
    targets live through the whole run; the scenario test deletes each kind for real."""
    op, path = case.operation.method.upper(), case.operation.path
    params = case.path_parameters
    if params and op != "DELETE" and _pick(op, path, params):
        out = dict(params)
        if path.startswith("/storage/volumes/{volume_uuid}"):
            out["volume_uuid"] = TARGETS["volume"]
            if "uuid" in out:
                out["uuid"] = TARGETS["snapshot"]
        elif path.startswith("/storage/volumes/"):
            out["uuid"] = TARGETS["volume"]
        elif path.startswith("/storage/qtrees/"):
            out["volume_uuid"], out["id"] = TARGETS["volume"], TARGETS["qtree"]
        elif path.startswith("/protocols/nfs/export-policies/{policy_id}"):
            out["policy_id"] = TARGETS["policy"]
            if "index" in out:
                out["index"] = TARGETS["rule"]
        elif path.startswith("/protocols/nfs/export-policies/"):
            out["id"] = TARGETS["policy"]
        else:
            for prefix, key in (("/cluster/nodes/", "node"), ("/cluster/jobs/", "job"),
                                ("/svm/svms/", "svm"), ("/storage/aggregates/", "aggregate"),
                                ("/network/ip/interfaces/", "lif")):
                if path.startswith(prefix):
                    out["uuid"] = TARGETS[key]
        case.path_parameters = out
    body = case.body
    if op == "POST" and isinstance(body, dict) and _pick(path, body):
        body = dict(body)
        if path in ("/storage/volumes", "/protocols/nfs/export-policies", "/storage/qtrees"):
            body["svm"] = {"name": "svm1"}
        if path == "/storage/qtrees":
            body["volume"] = {"name": "fz_vol"}
        if path == "/storage/volumes" and "aggregates" in body:
            body["aggregates"] = [{"name": "aggr1"}]
        case.body = body


@pytest.fixture(scope="module")
def fuzz_targets(base_url, http):
    def req(method, path, body=None, **query):
        r = http.request(method, base_url + path, params=query, json=body, timeout=TIMEOUT)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json()

    svm = req("GET", "/svm/svms", name="svm1")["records"][0]["uuid"]
    req("POST", "/storage/volumes", {"name": "fz_vol", "size": 100 * 2**20, "svm": {"name": "svm1"},
                                     "nas": {"path": "/fz_vol"}})
    vol = req("GET", "/storage/volumes", name="fz_vol")["records"][0]["uuid"]
    req("POST", f"/storage/volumes/{vol}/snapshots", {"name": "fz_snap"})
    snap = req("GET", f"/storage/volumes/{vol}/snapshots", name="fz_snap")["records"][0]["uuid"]
    req("POST", "/storage/qtrees", {"name": "fz_qtree", "svm": {"name": "svm1"},
                                    "volume": {"name": "fz_vol"}})
    qtree = req("GET", "/storage/qtrees", name="fz_qtree")["records"][0]["id"]
    req("POST", "/protocols/nfs/export-policies", {"name": "fz_policy", "svm": {"name": "svm1"}})
    policy = req("GET", "/protocols/nfs/export-policies", name="fz_policy")["records"][0]["id"]
    req("POST", f"/protocols/nfs/export-policies/{policy}/rules",
        {"clients": [{"match": "10.1.0.0/16"}]})
    rule = req("GET", f"/protocols/nfs/export-policies/{policy}/rules")["records"][0]["index"]
    TARGETS.update({
        "svm": svm, "volume": vol, "snapshot": snap, "qtree": qtree, "policy": policy,
        "rule": rule,
        "node": req("GET", "/cluster/nodes")["records"][0]["uuid"],
        "job": req("GET", "/cluster/jobs")["records"][0]["uuid"],
        "aggregate": req("GET", "/storage/aggregates")["records"][0]["uuid"],
        "lif": req("GET", "/network/ip/interfaces")["records"][0]["uuid"],
    })
    yield TARGETS
    TARGETS.clear()


@SCHEMA.parametrize()
def test_fuzz(case, base_url, http, fuzz_targets):
    steer(case)
    r = case.call_and_validate(
        base_url=base_url, session=http, headers={"Authorization": AUTH_HEADER}, timeout=TIMEOUT,
        verify=http.verify, checks=CONFORMANCE + [unsupported_method, ignored_auth])
    if r.status_code == 202:
        # A model failure inside a job ends the job, not the request: it must be a clean one.
        uuid = r.json()["job"]["uuid"]
        job = http.get(f"{base_url}/cluster/jobs/{uuid}", timeout=TIMEOUT).json()
        assert job["state"] in ("success", "failure"), job
        assert job["state"] == "success" or (job["message"] and job["code"] not in (0, 13114)), job


def test_simulator_healthy_after_fuzzing(sim, base_url, http):
    admin = next(line.split()[1] for line in sim.proc.banner if line.split()[:1] == ["admin"])
    with urllib.request.urlopen(f"{admin}/healthz", timeout=10) as r:
        assert r.status == 200 and r.read().strip() == b"ok"
    version = sim.invoke(zapi.NaElement("system-get-version")).get_child_content("version")
    assert "9.14.1" in version
    r = http.get(base_url + "/cluster", params={"fields": "version"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["version"]["major"] == 14
    r = http.get(base_url + "/storage/volumes", params={"name": "fz_vol"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["num_records"] == 1
