"""ZAPI over HTTPS as NetApp's own Python client (netapp-lib) and raw HTTPS see it.

Topology: tests/python/topology.toml (cluster1, node cluster1-01, aggr1, SVMs svm1 and svm2; users
admin (cluster), vsadmin (svm1) and ro (cluster, readonly), all with password netapp1!).
"""

import http.client
import socket
import ssl
import time
import urllib.request

import pytest
from lxml import etree
from netapp_lib.api.zapi import zapi

from zapi_helpers import api, basic_auth, envelope
from simproc import PASSWORD, ZAPI_PATH

ALL_VSERVERS = ["cluster1", "cluster1-01", "svm1", "svm2"]

# Trident's heartbeat inputs (trident-zapi.md §2.2 step 9).
EMS_INPUTS = {
    "app-version": "1",
    "auto-support": "false",
    "category": "heartbeat",
    "computer-name": "pytest-host",
    "event-description": '{"plugin":"ontap-nas","svm":"svm1"}',
    "event-id": "1",
    "event-source": "trident",
    "log-level": "5",
}


def child(el, *path):
    """Follow child names (netapp-lib NaElement); fails clearly when one is missing."""
    for name in path:
        nxt = el.get_child_by_name(name)
        assert nxt is not None, f"no <{name}> in {el.to_string().decode()}"
        el = nxt
    return el


def records(result):
    """The record elements of an iterator result (empty when attributes-list is absent)."""
    lst = result.get_child_by_name("attributes-list")
    return lst.get_children() if lst is not None else []


def names(result):
    return [r.get_child_content("vserver-name") for r in records(result)]


# --------------------------------------------------------------------------------------------
# Versions


def test_system_get_version(sim):
    res = sim.invoke(api("system-get-version"))
    assert res.get_attr("status") == "passed"
    assert res.get_child_content("version").startswith("NetApp Release 9.14.1")
    assert res.get_child_content("is-clustered") == "true"
    t = child(res, "version-tuple", "system-version-tuple")
    assert (
        t.get_child_content("generation"),
        t.get_child_content("major"),
        t.get_child_content("minor"),
    ) == ("9", "14", "1")


def test_system_get_ontapi_version(sim):
    res = sim.invoke(api("system-get-ontapi-version"))
    assert res.get_child_content("major-version") == "1"
    assert res.get_child_content("minor-version") == "241"


def test_invoke_api_dict_helper_tunnels_by_default(sim):
    """netapp-lib's xmltodict helper (tunnelling on by default) as an SVM admin."""
    s = sim.server("vsadmin", vserver="svm1")
    out = s.invoke_api("system-get-ontapi-version")
    results = out["results"]
    assert results["@status"] == "passed"
    assert (results["major-version"], results["minor-version"]) == ("1", "241")


# --------------------------------------------------------------------------------------------
# Authentication and TLS


class _RecordingHTTPS(urllib.request.HTTPSHandler):
    """Records, for each HTTPS request urllib sends, whether it carried Authorization."""

    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def https_open(self, req):
        self.seen.append(req.has_header("Authorization"))
        return super().https_open(req)


class _RecordingNaServer(zapi.NaServer):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent_auth = []

    def _build_opener(self):
        self._opener = urllib.request.build_opener(
            self._create_basic_auth_handler(), _RecordingHTTPS(self.sent_auth)
        )


def test_unauthenticated_post_gets_basic_challenge(sim):
    r = sim.post(envelope("<system-get-version/>"), auth=False)
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="ontap-sim"'


def test_netapp_lib_answers_the_challenge(sim):
    """netapp-lib sends credentials only after the 401 challenge, and then succeeds."""
    s = _RecordingNaServer(sim.host, server_type="filer", transport_type="https",
                           style="basic_auth", username="admin", password=PASSWORD,
                           port=sim.port)
    s.set_timeout(10)
    res = s.invoke_successfully(api("system-get-version"), enable_tunneling=False)
    assert res.get_attr("status") == "passed"
    assert s.sent_auth == [False, True], "first POST without credentials, retry with them"


def test_wrong_password(sim):
    err = sim.zapi_error(api("system-get-version"), password="wrong")
    assert err.code == 401
    assert err.message == "Unauthorized"
    assert str(err) == "NetApp API failed. Reason - 401:Unauthorized"
    r = sim.post(envelope("<system-get-version/>"), password="wrong")
    assert r.status == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    assert b"<results" not in r.body


def test_unknown_user(sim):
    r = sim.post(envelope("<system-get-version/>"), user="nobody")
    assert r.status == 401


def test_server_certificate_verifies_against_generated_ca(sim):
    assert sim.ca_path.is_file()
    for host in ("127.0.0.1", "localhost"):
        conn = sim.connection(verify=True, host=host)
        try:
            r = sim.post(envelope("<system-get-version/>"), conn=conn)
            assert r.status == 200
            cert = conn.sock.getpeercert()
        finally:
            conn.close()
        sans = cert.get("subjectAltName", ())
        assert ("IP Address", "127.0.0.1") in sans
        assert ("DNS", "localhost") in sans


def test_server_certificate_is_not_trusted_by_system_roots(sim):
    ctx = ssl.create_default_context()
    with socket.create_connection((sim.host, sim.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def test_netapp_lib_with_verifying_context(sim):
    """A netapp-lib opener that verifies against the generated CA works too."""
    s = sim.server()
    ctx = sim.ssl_context(verify=True)
    s._build_opener = lambda: setattr(
        s, "_opener",
        urllib.request.build_opener(s._create_basic_auth_handler(),
                                    urllib.request.HTTPSHandler(context=ctx)),
    )
    res = s.invoke_successfully(api("system-get-ontapi-version"))
    assert res.get_child_content("minor-version") == "241"


# --------------------------------------------------------------------------------------------
# Tunnelling and scope


def test_admin_vserver_get_without_tunnel_is_admin_vserver(sim):
    res = sim.invoke(api("vserver-get"))
    info = child(res, "attributes", "vserver-info")
    assert info.get_child_content("vserver-name") == "cluster1"
    assert info.get_child_content("vserver-type") == "admin"


@pytest.mark.parametrize("svm", ["svm1", "svm2"])
def test_admin_tunnels_with_vfiler(sim, svm):
    res = sim.invoke(api("vserver-get"), vserver=svm)
    info = child(res, "attributes", "vserver-info")
    assert info.get_child_content("vserver-name") == svm
    assert info.get_child_content("vserver-type") == "data"
    assert info.get_child_content("state") == "running"
    aggrs = [a.get_child_content("aggr-name")
             for a in child(info, "vserver-aggr-info-list").get_children()]
    assert aggrs == ["aggr1"]


def test_tunnelled_uuids_differ_per_svm(sim):
    u1 = child(sim.invoke(api("vserver-get"), vserver="svm1"), "attributes", "vserver-info")
    u2 = child(sim.invoke(api("vserver-get"), vserver="svm2"), "attributes", "vserver-info")
    assert u1.get_child_content("uuid") != u2.get_child_content("uuid")


def test_vsadmin_sees_only_its_svm(sim):
    res = sim.invoke(api("vserver-get-iter"), user="vsadmin")
    assert names(res) == ["svm1"]
    assert res.get_child_content("num-records") == "1"
    res = sim.invoke(api("vserver-get"), user="vsadmin")
    assert child(res, "attributes", "vserver-info").get_child_content("vserver-name") == "svm1"


def test_vsadmin_may_tunnel_to_own_svm(sim):
    res = sim.invoke(api("vserver-get-iter"), user="vsadmin", vserver="svm1")
    assert names(res) == ["svm1"]


def test_vsadmin_tunnel_to_other_svm_refused(sim):
    err = sim.zapi_error(api("vserver-get"), user="vsadmin", vserver="svm2")
    assert err.code == "13003"
    assert "Insufficient privileges" in err.message
    assert "svm2" in err.message


def test_tunnel_to_missing_svm(sim):
    err = sim.zapi_error(api("vserver-get"), vserver="nosuchsvm")
    assert err.code == "15698"
    assert "nosuchsvm" in err.message


def test_admin_lists_all_vservers(sim):
    res = sim.invoke(api("vserver-get-iter"))
    assert names(res) == ALL_VSERVERS
    assert res.get_child_content("num-records") == "4"
    assert res.get_child_by_name("next-tag") is None
    types = {r.get_child_content("vserver-name"): r.get_child_content("vserver-type")
             for r in records(res)}
    assert types == {"cluster1": "admin", "cluster1-01": "node", "svm1": "data", "svm2": "data"}


def test_admin_tunnelled_iter_lists_only_that_svm(sim):
    res = sim.invoke(api("vserver-get-iter"), vserver="svm2")
    assert names(res) == ["svm2"]


# --------------------------------------------------------------------------------------------
# Roles


def test_readonly_user_can_read(sim):
    res = sim.invoke(api("vserver-get-iter"), user="ro")
    assert names(res) == ALL_VSERVERS
    res = sim.invoke(api("system-get-version"), user="ro")
    assert res.get_attr("status") == "passed"


def test_readonly_user_cannot_write(sim):
    err = sim.zapi_error(api("ems-autosupport-log", dict(EMS_INPUTS)), user="ro")
    assert err.code == "13003"
    assert err.message.startswith("Insufficient privileges")
    assert "'ro'" in err.message


def test_readonly_user_cannot_write_tunnelled(sim):
    err = sim.zapi_error(api("ems-autosupport-log", dict(EMS_INPUTS)), user="ro", vserver="svm1")
    assert err.code == "13003"


@pytest.mark.parametrize("vserver", [None, "svm1"])
def test_admin_ems_autosupport_log(sim, vserver):
    res = sim.invoke(api("ems-autosupport-log", dict(EMS_INPUTS)), vserver=vserver)
    assert res.get_attr("status") == "passed"
    assert res.get_children() == []


def test_vsadmin_ems_autosupport_log(sim):
    res = sim.invoke(api("ems-autosupport-log", dict(EMS_INPUTS)), user="vsadmin")
    assert res.get_attr("status") == "passed"


# --------------------------------------------------------------------------------------------
# Iterators


def test_paging_with_max_records_1(sim):
    s = sim.server()
    seen, pages, tag = [], 0, None
    while True:
        req = api("vserver-get-iter", {"max-records": "1"})
        if tag is not None:
            req.add_new_child("tag", tag)
        res = s.invoke_successfully(req)
        pages += 1
        assert pages <= len(ALL_VSERVERS), f"paging does not end; seen {seen}"
        assert res.get_child_content("num-records") == "1"
        page = names(res)
        assert len(page) == 1
        seen += page
        tag = res.get_child_content("next-tag")
        if tag is None:
            break
        assert tag.strip()
    assert seen == ALL_VSERVERS
    assert pages == 4


def test_paging_helper_of_netapp_lib(sim):
    """zapi.invoke_api(is_iter=True) follows next-tag by itself (max-records 50, one page here)."""
    out = zapi.invoke_api(sim.server(), "vserver-get-iter", is_iter=True)
    got = []
    for page in out:
        got += names(page)
    assert got == ALL_VSERVERS


def test_paging_max_records_2(sim):
    s = sim.server()
    p1 = s.invoke_successfully(api("vserver-get-iter", {"max-records": "2"}))
    assert names(p1) == ["cluster1", "cluster1-01"]
    req = api("vserver-get-iter", {"max-records": "2"})
    req.add_new_child("tag", p1.get_child_content("next-tag"))
    p2 = s.invoke_successfully(req)
    assert names(p2) == ["svm1", "svm2"]
    assert p2.get_child_by_name("next-tag") is None


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ("svm*", ["svm1", "svm2"]),
        ("svm1|svm2", ["svm1", "svm2"]),
        ("svm2", ["svm2"]),
        ("cluster1*", ["cluster1", "cluster1-01"]),
        ("nomatch*", []),
    ],
)
def test_query(sim, pattern, expected):
    res = sim.invoke(api("vserver-get-iter",
                         {"query": {"vserver-info": {"vserver-name": pattern}}}))
    assert names(res) == expected
    assert res.get_child_content("num-records") == str(len(expected))


def test_query_on_type(sim):
    res = sim.invoke(api("vserver-get-iter", {"query": {"vserver-info": {"vserver-type": "data"}}}))
    assert names(res) == ["svm1", "svm2"]


def test_desired_attributes_prune(sim):
    res = sim.invoke(api("vserver-get-iter", {
        "desired-attributes": {"vserver-info": {"vserver-name": None, "state": None}},
    }))
    recs = records(res)
    assert len(recs) == 4
    for r in recs:
        assert sorted(c.get_name().split("}")[-1] for c in r.get_children()) == \
            ["state", "vserver-name"]
        assert r.get_child_content("state") == "running"


def test_desired_attributes_nested(sim):
    res = sim.invoke(api("vserver-get-iter", {
        "query": {"vserver-info": {"vserver-name": "svm1"}},
        "desired-attributes": {"vserver-info": {
            "vserver-aggr-info-list": {"vserver-aggr-info": {"aggr-name": None}}}},
    }))
    (rec,) = records(res)
    assert [c.get_name().split("}")[-1] for c in rec.get_children()] == ["vserver-aggr-info-list"]
    info = child(rec, "vserver-aggr-info-list", "vserver-aggr-info")
    assert [c.get_name().split("}")[-1] for c in info.get_children()] == ["aggr-name"]
    assert info.get_child_content("aggr-name") == "aggr1"


def test_vserver_get_desired_attributes(sim):
    res = sim.invoke(api("vserver-get", {"desired-attributes": {"vserver-info": {"uuid": None}}}),
                     vserver="svm1")
    info = child(res, "attributes", "vserver-info")
    assert [c.get_name().split("}")[-1] for c in info.get_children()] == ["uuid"]


def test_system_node_get_iter_as_admin(sim):
    res = sim.invoke(api("system-node-get-iter", {
        "max-records": "100",
        "desired-attributes": {"node-details-info": {"node-serial-number": None}},
    }))
    (node,) = records(res)
    serial = node.get_child_content("node-serial-number")
    assert serial and serial.isdigit()
    assert [c.get_name().split("}")[-1] for c in node.get_children()] == ["node-serial-number"]


def test_system_node_get(sim):
    res = sim.invoke(api("system-node-get", {"node": "cluster1-01"}))
    info = child(res, "attributes", "node-details-info")
    assert info.get_child_content("node") == "cluster1-01"


# --------------------------------------------------------------------------------------------
# Errors


def test_unknown_api(sim):
    err = sim.zapi_error(api("ontap-sim-no-such-api"))
    assert err.code == "13005"
    assert err.message == "Unable to find API: ontap-sim-no-such-api"


def test_cluster_only_api_as_vsadmin(sim):
    err = sim.zapi_error(api("system-node-get-iter"), user="vsadmin")
    assert err.code == "13005"
    assert err.message == "Unable to find API: system-node-get-iter on data vserver svm1"


def test_cluster_only_api_tunnelled_as_admin(sim):
    err = sim.zapi_error(api("system-node-get-iter"), vserver="svm2")
    assert err.code == "13005"
    assert err.message == "Unable to find API: system-node-get-iter on data vserver svm2"


def test_missing_input(sim):
    inputs = dict(EMS_INPUTS)
    del inputs["event-id"]
    err = sim.zapi_error(api("ems-autosupport-log", inputs))
    assert err.code == "13115"
    assert err.message == "Missing input: event-id"


def test_missing_input_node_get(sim):
    err = sim.zapi_error(api("system-node-get"))
    assert err.code == "13115"
    assert err.message == "Missing input: node"


def test_extra_input(sim):
    err = sim.zapi_error(api("system-get-version", {"bogus-input": "1"}))
    assert err.code == "13115"
    assert err.message == "Extra input: bogus-input"


def test_wrong_type_max_records(sim):
    err = sim.zapi_error(api("vserver-get-iter", {"max-records": "abc"}))
    assert err.code == "13115"
    assert err.message.startswith("Invalid value specified for")
    assert "max-records" in err.message and "abc" in err.message


def test_wrong_type_boolean(sim):
    inputs = dict(EMS_INPUTS, **{"auto-support": "maybe"})
    err = sim.zapi_error(api("ems-autosupport-log", inputs))
    assert err.code == "13115"
    assert "auto-support" in err.message


def test_bad_tag(sim):
    err = sim.zapi_error(api("vserver-get-iter", {"tag": "garbage"}))
    assert err.code == "13115"
    assert "tag" in err.message


@pytest.mark.parametrize(
    "body,must_mention",
    [
        (b"this is not xml", ["parse"]),
        (b"", ["parse"]),
        (envelope("<system-get-version>"), ["parse"]),
        (b'<netapp xmlns="http://www.netapp.com/filer/admin"><system-get-version/>', ["parse"]),
        (envelope(), ["no api"]),
        (b'<netapp xmlns="http://www.netapp.com/filer/admin">\n  \n</netapp>', ["no api"]),
        (envelope("<system-get-version/>", "<system-get-ontapi-version/>"),
         ["only one api", "system-get-version", "system-get-ontapi-version"]),
        (b"<filer><system-get-version/></filer>", ["filer", "netapp"]),
    ],
    ids=["not-xml", "empty", "unclosed-api", "unclosed-root", "no-api", "whitespace-only",
         "two-apis", "wrong-root"],
)
def test_malformed_bodies(sim, body, must_mention):
    r = sim.post(body)
    assert r.status == 200
    res = r.results()
    assert res.get("status") == "failed"
    assert res.get("errno") == "13001"
    reason = res.get("reason") or ""
    for word in must_mention:
        assert word in reason.lower(), reason


def test_request_with_doctype_is_accepted(sim):
    """The NetApp Manageability SDK (Perl/Java) sends an XML declaration and a DOCTYPE."""
    body = (b"<?xml version='1.0' encoding='utf-8' ?>\n"
            b"<!DOCTYPE netapp SYSTEM 'file:/etc/netapp_filer.dtd'>\n"
            b"<netapp xmlns='http://www.netapp.com/filer/admin' version='1.21'>"
            b"<system-get-ontapi-version/></netapp>")
    res = sim.post(body).results()
    assert res.get("status") == "passed"


def test_external_entities_are_not_expanded(sim):
    body = (b"<?xml version='1.0'?><!DOCTYPE netapp [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>"
            b"<netapp xmlns='http://www.netapp.com/filer/admin'><vserver-get-iter><query>"
            b"<vserver-info><vserver-name>&x;</vserver-name></vserver-info></query>"
            b"</vserver-get-iter></netapp>")
    res = sim.post(body).results()
    assert res.get("status") == "failed"
    assert res.get("errno") == "13001"
    assert "entity" in res.get("reason").lower()


def test_system_node_get_missing_node(sim):
    err = sim.zapi_error(api("system-node-get", {"node": "nosuchnode"}))
    assert err.code == "15661"
    assert "nosuchnode" in err.message


def test_malformed_body_seen_by_netapp_lib_style_parse(sim):
    """The failure reply itself is XML netapp-lib can read (lxml, results by local name)."""
    r = sim.post(b"<netapp")
    res = zapi.NaServer("x")._get_result(r.body)
    assert res.get_attr("status") == "failed"
    assert res.get_attr("errno") == "13001"


# --------------------------------------------------------------------------------------------
# HTTP


def test_get_on_servlet_is_405(sim):
    r = sim.post(method="GET")
    assert r.status == 405
    assert r.headers["Allow"] == "POST"


def test_rest_beside_zapi_on_one_listener(sim):
    r = sim.post(method="GET", path="/api/cluster?fields=version")
    assert r.status == 200
    assert b'"generation":9' in r.body
    r = sim.post(method="GET", path="/api/no/such/endpoint")
    assert r.status == 404


def test_post_other_path_is_404(sim):
    r = sim.post(envelope("<system-get-version/>"), path="/servlets/other")
    assert r.status == 404


def test_body_over_8_mib_is_413(sim):
    body = b"<netapp>" + b" " * (9 << 20) + b"</netapp>"
    conn = sim.connection()
    try:
        conn.putrequest("POST", ZAPI_PATH)
        conn.putheader("Authorization", basic_auth("admin", PASSWORD))
        conn.putheader("Content-Type", "text/xml")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            conn.send(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the server may answer and close before the whole body is sent
        r = conn.getresponse()
        assert r.status == 413
        r.read()
    finally:
        conn.close()


def test_body_over_8_mib_chunked_is_413(sim):
    """Without Content-Length the limit applies while reading."""
    chunk = b" " * (1 << 20)

    def gen():
        yield b"<netapp>"
        for _ in range(9):
            yield chunk
        yield b"</netapp>"

    conn = sim.connection()
    try:
        try:
            conn.request("POST", ZAPI_PATH, body=gen(), encode_chunked=True, headers={
                "Authorization": basic_auth("admin", PASSWORD),
                "Content-Type": "text/xml",
                "Transfer-Encoding": "chunked",
            })
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        r = conn.getresponse()
        assert r.status == 413
        r.read()
    finally:
        conn.close()


def test_keep_alive(sim):
    """Several requests on one HTTPS connection (Go's and requests' clients reuse connections)."""
    conn = sim.connection()
    try:
        conn.connect()
        sock = conn.sock
        bodies = ["<system-get-version/>", "<system-get-ontapi-version/>",
                  "<vserver-get-iter/>", "<ontap-sim-no-such-api/>", "<system-get-version/>"]
        expected = ["passed", "passed", "passed", "failed", "passed"]
        got = []
        for b in bodies:
            r = sim.post(envelope(b), conn=conn)
            assert r.status == 200
            assert conn.sock is sock, "the server closed the keep-alive connection"
            got.append(r.results().get("status"))
        assert got == expected
        # A challenge for a request without a body keeps the connection too.
        r = sim.post(method="POST", body=b"", auth=False, conn=conn)
        assert r.status == 401
        r = sim.post(envelope("<system-get-version/>"), conn=conn)
        assert r.results().get("status") == "passed"
        assert conn.sock is sock
    finally:
        conn.close()


@pytest.mark.parametrize(
    "status,user,method,path",
    [
        (401, None, "POST", ZAPI_PATH),
        (401, "wrong", "POST", ZAPI_PATH),
        (404, "admin", "POST", "/servlets/other"),
        (405, "admin", "PUT", ZAPI_PATH),
    ],
    ids=["401-challenge", "401-wrong-password", "404", "405"],
)
def test_connection_usable_after_refusal_with_late_body(sim, status, user, method, path):
    """A refused request whose body arrives after its headers (a separate TCP/TLS write, as any
    client may send it): the server must either leave the connection usable for the next request
    or announce `Connection: close` on the refusal. A client that answers the 401 challenge on the
    same keep-alive connection depends on this."""
    body = envelope("<system-get-version/>")
    conn = sim.connection()
    try:
        conn.putrequest(method, path)
        conn.putheader("Content-Type", "text/xml")
        conn.putheader("Content-Length", str(len(body)))
        if user == "admin":
            conn.putheader("Authorization", basic_auth("admin", PASSWORD))
        elif user == "wrong":
            conn.putheader("Authorization", basic_auth("admin", "wrong"))
        conn.endheaders()
        time.sleep(0.05)  # headers and body in separate writes
        conn.send(body)
        r = conn.getresponse()
        r.read()
        assert r.status == status
        if (r.headers.get("Connection") or "").lower() == "close":
            return  # announced: the client opens a new connection; nothing more to check
        try:
            again = sim.post(envelope("<system-get-version/>"), conn=conn)
        except (http.client.HTTPException, OSError) as e:
            pytest.fail(
                f"the server closed the connection after the {status} without "
                f"`Connection: close`; the next request on it failed: {e!r}",
                pytrace=False,
            )
        assert again.status == 200
        assert again.results().get("status") == "passed"
    finally:
        conn.close()


def test_response_envelope(sim):
    r = sim.post(envelope("<system-get-ontapi-version/>"))
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(r.body)
    assert root.tag == "{http://www.netapp.com/filer/admin}netapp"
    assert root.get("version") == "1.241"


def test_trident_style_request(sim):
    """Trident's envelope: XML declaration, version 1.21, vfiler, indented body."""
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<netapp xmlns="http://www.netapp.com/filer/admin" version="1.21" vfiler="svm2">\n'
        b' <vserver-get-iter>\n'
        b'     <max-records>100</max-records>\n'
        b'     <query>\n'
        b'         <vserver-info>\n'
        b'             <vserver-name>svm2</vserver-name>\n'
        b'         </vserver-info>\n'
        b'     </query>\n'
        b' </vserver-get-iter>\n'
        b'</netapp>'
    )
    r = sim.post(body, headers={"Content-Type": "application/xml"})
    res = r.results()
    assert res.get("status") == "passed"
    ns = {"n": "http://www.netapp.com/filer/admin"}
    assert res.xpath("n:attributes-list/n:vserver-info/n:vserver-name/text()", namespaces=ns) == \
        ["svm2"]
    assert res.xpath("n:num-records/text()", namespaces=ns) == ["1"]
