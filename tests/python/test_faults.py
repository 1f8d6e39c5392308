"""Fault injection through the control API, as netapp-lib sees it, and the journal and metrics."""

import json
import urllib.request

import pytest
from netapp_lib.api.zapi import zapi
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture
def admin(sim):
    url = next(line.split()[1] for line in sim.proc.banner if line.split()[:1] == ["admin"])

    def call(method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if r.headers.get("content-type", "").startswith("application/json") else text

    yield call
    call("DELETE", "/faults")


def test_injected_errno_reaches_netapp_lib(sim, admin):
    rule = admin("POST", "/faults", {
        "match": {"api": "volume-create", "svm": "svm1"},
        "action": {"type": "zapi", "errno": 13001, "reason": "Insufficient space on aggregate"},
        "fire": {"times": 1},
    })
    assert rule[0]["spec"]["match"]["front"] == "zapi"
    el = zapi.NaElement("volume-create")
    el.translate_struct({"volume": "fault_v1", "containing-aggr-name": "aggr1", "size": "1g"})
    err = sim.zapi_error(el, vserver="svm1")
    assert err.code == "13001"
    assert err.message == "Insufficient space on aggregate"
    # It fired once: the same call now goes through to the model.
    sim.invoke(el, vserver="svm1")
    journal = admin("GET", "/journal?api=volume-create")
    assert [e["result"] for e in journal][-2:] == ["fault", "passed"]
    assert journal[-2]["errno"] == 13001 and journal[-2]["svm"] == "svm1"
    assert all("password" not in json.dumps(e) for e in journal)


def test_http_status_fault(sim, admin):
    admin("POST", "/faults", {"match": {"api": "system-get-version"}, "action": {"type": "http_status", "status": 503}})
    with pytest.raises(zapi.NaApiError) as e:
        sim.invoke(zapi.NaElement("system-get-version"))
    assert "503" in str(e.value)


def test_bad_rules_are_refused(admin):
    for bad in [
        {"action": {"type": "delay", "ms": 10, "max_ms": 5}},
        {"action": {"type": "explode"}},
        {"match": {"front": "tcp"}, "action": {"type": "zapi", "errno": 1, "reason": "x"}},
    ]:
        with pytest.raises(urllib.error.HTTPError) as e:
            admin("POST", "/faults", bad)
        assert e.value.code == 400
    assert admin("GET", "/faults") == []


def test_metrics_parse_as_prometheus_text(sim, admin):
    sim.invoke(zapi.NaElement("system-get-ontapi-version"))
    text = admin("GET", "/metrics")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    reqs = families["ontap_sim_requests"]
    assert any(s.labels.get("api") == "system-get-ontapi-version" and s.labels["result"] == "passed" and s.value >= 1
               for s in reqs.samples)
    assert "ontap_sim_request_duration_seconds" in families
    used = families["ontap_sim_aggregate_used_bytes"]
    assert any(s.labels["aggregate"] == "aggr1" and s.value > 0 for s in used.samples)
    assert "ontap_sim_faults_fired" in families
