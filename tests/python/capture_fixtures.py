#!/usr/bin/env python3
"""Regenerate api-fixtures/: real client request bodies and the simulator's replies to them.

    .venv/bin/python tests/python/capture_fixtures.py            # rewrite api-fixtures/
    .venv/bin/python tests/python/capture_fixtures.py --check    # exit 1 if api-fixtures/ is stale
    .venv/bin/python tests/python/capture_fixtures.py --out DIR  # write somewhere else
    ... --reuse-ansible-requests   # take the Ansible request bodies from --out instead of running
                                   # Ansible (the replies are still regenerated)

Single requests (api-fixtures/<client>/<name>.*):

1. netapp-lib: each call is made with netapp-lib's NaServer against a tiny local plain-HTTP capture
   server started here; the body of the authenticated POST is saved byte for byte. (The transport
   does not change the body netapp-lib builds.)
2. Trident: requests are written by hand in the shape trident-zapi.md section 1.1 describes (XML
   declaration, version="1.21", vfiler where tunnelled, Go xml.MarshalIndent(prefix " ",
   indent "    ") body), with the inputs of section 2.2.
3. Every request is POSTed as `admin` (Basic auth, password netapp1!) to
   `ontap-sim serve --ephemeral --listen 127.0.0.1:0` with the built-in default topology, and the
   response body is saved byte for byte. All requests are then replayed in reverse order to the same
   server and must give the same bytes, so the fixtures do not depend on replay order.

Scenarios (api-fixtures/scenarios/<scenario>/NN-<step>.*): ordered request sequences replayed
against one fresh simulator each (default topology, --ephemeral, as admin).

4. trident-*: the volume lifecycle sequences of trident-zapi.md section 3 (3.1 create + 3.2
   follow-up, 3.5 clone, 3.6 resize, 3.7 destroy with the SnapMirror probes, 3.8 snapshots, 3.9
   export policies with autoExportPolicy), written in Trident's wire style as in 2.
5. ansible-*: Ansible's netapp.ontap modules (use_rest=never) are run against a simulator started
   with RUST_LOG=ontap_sim=debug --log-format json, and the exact `request body` of every call is
   taken from its log. Ansible comes from $ANSIBLE_VENV (default /tmp/venv-ansible; it needs
   ansible==12.3.0, netapp-lib and requests). Each module run must succeed with the expected
   `changed`.
6. Each scenario is replayed twice, on two fresh simulators; both replies must agree after
   normalisation (and, for Ansible, agree with what Ansible saw during the capture). Reply text that
   depends on the clock (NORMALISED_ELEMENTS) is stored as the placeholder, see normalise().

Exit status: 0 done; 1 --check found api-fixtures/ stale; 2 no Ansible; 3 done, but a module run
hit a known simulator bug (Run.bug) and was left out of its scenario (listed on stderr).

The simulator binary is $ONTAP_SIM_BIN or target/debug/ontap-sim.
"""

import argparse
import base64
import filecmp
import http.client
import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from lxml import etree
from netapp_lib.api.zapi import zapi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simproc import PASSWORD, REPO_ROOT, ZAPI_PATH, SimProcess  # noqa: E402

NETAPP_NS = "http://www.netapp.com/filer/admin"
DEFAULT_OUT = REPO_ROOT / "api-fixtures"


@dataclass
class Fixture:
    client: str          # "netapp-lib" or "trident"
    name: str            # file stem
    api: str             # the API invoked
    vfiler: str          # tunnel target, "" for none
    what: str            # one line for the README
    content_type: str    # what the real client sends (the simulator ignores it)
    request: bytes = b""
    response: bytes = b""


# --------------------------------------------------------------------------------------------
# 1. netapp-lib, through a local capture server


class _CaptureHandler(http.server.BaseHTTPRequestHandler):
    """Answers like the simulator's auth layer (401 challenge first, as netapp-lib expects) and
    records every POST body."""

    captured = []  # (has_authorization, body)
    ok = (b"<?xml version='1.0' encoding='UTF-8' ?>\n"
          b"<netapp version='1.241' xmlns='" + NETAPP_NS.encode() + b"'>"
          b"<results status=\"passed\"/></netapp>\n")

    def do_POST(self):  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        authed = self.headers.get("Authorization") is not None
        self.captured.append((authed, body))
        if not authed:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="capture"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(self.ok)))
        self.end_headers()
        self.wfile.write(self.ok)

    def log_message(self, *args):
        pass


def _netapp_lib_calls():
    """(fixture, function(NaServer) that makes the call)."""

    def plain(el):
        return lambda s: s.invoke_successfully(el, enable_tunneling=False)

    def iter_el(inputs):
        el = zapi.NaElement("vserver-get-iter")
        el.translate_struct(inputs)
        return el

    def tunnelled(s):
        s.set_api_version(major=1, minor=21)  # netapp-lib needs >= 1.15 to tunnel to a vserver
        s.set_vserver("svm1")
        return s.invoke_successfully(zapi.NaElement("vserver-get"), enable_tunneling=True)

    ct = "text/xml"
    return [
        (Fixture("netapp-lib", "system-get-version", "system-get-version", "",
                 "`NaElement('system-get-version')`", ct),
         plain(zapi.NaElement("system-get-version"))),
        (Fixture("netapp-lib", "system-get-ontapi-version", "system-get-ontapi-version", "",
                 "`NaElement('system-get-ontapi-version')`", ct),
         plain(zapi.NaElement("system-get-ontapi-version"))),
        (Fixture("netapp-lib", "vserver-get-iter-max-records-1", "vserver-get-iter", "",
                 "`max-records` 1: the first page, with `next-tag`", ct),
         plain(iter_el({"max-records": "1"}))),
        (Fixture("netapp-lib", "vserver-get-iter-query", "vserver-get-iter", "",
                 "`query/vserver-info/vserver-name` = `svm*` and `desired-attributes` "
                 "vserver-name, state", ct),
         plain(iter_el({"query": {"vserver-info": {"vserver-name": "svm*"}},
                        "desired-attributes": {"vserver-info": {"vserver-name": None,
                                                                "state": None}}}))),
        (Fixture("netapp-lib", "vserver-get-vfiler-svm1", "vserver-get", "svm1",
                 "`set_api_version(1, 21)`, `set_vserver('svm1')`, "
                 "`invoke_successfully(..., enable_tunneling=True)`", ct),
         tunnelled),
        (Fixture("netapp-lib", "system-node-get-iter", "system-node-get-iter", "",
                 "no inputs (ONTAP's default page size)", ct),
         plain(zapi.NaElement("system-node-get-iter"))),
        (Fixture("netapp-lib", "unknown-api", "ontap-sim-no-such-api", "",
                 "an API that does not exist: errno 13005", ct),
         plain(zapi.NaElement("ontap-sim-no-such-api"))),
    ]


def capture_netapp_lib():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CaptureHandler)
    port = httpd.server_address[1]
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    out = []
    try:
        for fx, call in _netapp_lib_calls():
            _CaptureHandler.captured.clear()
            s = zapi.NaServer("127.0.0.1", server_type="filer", transport_type="http",
                              style="basic_auth", username="admin", password=PASSWORD,
                              port=port)
            s.set_timeout(10)
            call(s)
            seen = list(_CaptureHandler.captured)
            # netapp-lib: first POST without credentials, then the same body with them.
            if [a for a, _ in seen] != [False, True] or seen[0][1] != seen[1][1]:
                raise RuntimeError(f"{fx.name}: unexpected exchange {seen!r}")
            fx.request = seen[1][1]
            out.append(fx)
    finally:
        httpd.shutdown()
        httpd.server_close()
    return out


# --------------------------------------------------------------------------------------------
# 2. Trident, by hand (trident-zapi.md section 1.1 and 2.2)


def _go_escape(text):
    """Go encoding/xml EscapeText."""
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
             "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
    return "".join(table.get(c, c) for c in text)


def go_marshal_indent(name, value, prefix=" ", indent="    ", depth=0):
    """Go xml.MarshalIndent layout: each element on its own line (prefix + indent*depth), a leaf
    and its end tag on the same line, empty elements written as <x></x>. `value` is a str for a
    leaf or a list of (name, value) for children."""
    pad = prefix + indent * depth
    if isinstance(value, str):
        return f"{pad}<{name}>{_go_escape(value)}</{name}>"
    if not value:
        return f"{pad}<{name}></{name}>"
    lines = [f"{pad}<{name}>"]
    lines += [go_marshal_indent(n, v, prefix, indent, depth + 1) for n, v in value]
    lines.append(f"{pad}</{name}>")
    return "\n".join(lines)


def trident_request(api, inputs, vfiler):
    root = f'<netapp xmlns="{NETAPP_NS}" version="1.21"'
    if vfiler:
        root += f' vfiler="{vfiler}"'
    root += ">"
    body = go_marshal_indent(api, inputs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n{body}\n</netapp>'.encode()


# The heartbeat's event-description is a JSON document; this one is illustrative (its content is
# opaque to ONTAP), written here to exercise Go's escaping of quotes.
TELEMETRY = ('{"version":"26.06.0","platform":"kubernetes","platformVersion":"v1.33.1",'
             '"plugin":"ontap-nas","svm":"svm1","storagePrefix":"trident_"}')


def capture_trident():
    ct = "application/xml"
    specs = [
        ("vserver-get", "vserver-get", [], "svm1",
         "step 1: SVM discovery, an empty element, tunnelled"),
        ("system-get-ontapi-version", "system-get-ontapi-version", [], "svm1",
         "step 2: the ONTAPI version, tunnelled"),
        ("system-node-get-iter", "system-node-get-iter",
         [("desired-attributes", [("node-details-info", [("node-serial-number", "")])]),
          ("max-records", "100")],
         "", "step 3: node serial numbers, not tunnelled"),
        ("vserver-get-iter", "vserver-get-iter",
         [("max-records", "100"),
          ("query", [("vserver-info", [("vserver-name", "svm1")])])],
         "svm1", "step 5: the SVM's aggregates, query vserver-name=svm1, tunnelled"),
        ("ems-autosupport-log", "ems-autosupport-log",
         [("app-version", "1"), ("auto-support", "false"), ("category", "heartbeat"),
          ("computer-name", "k8s-worker-1"), ("event-description", TELEMETRY),
          ("event-id", "1"), ("event-source", "trident"), ("log-level", "5")],
         "svm1", "step 9: the EMS heartbeat, tunnelled"),
    ]
    out = []
    for name, api, inputs, vfiler, what in specs:
        fx = Fixture("trident", name, api, vfiler, what, ct)
        fx.request = trident_request(api, inputs, vfiler)
        out.append(fx)
    return out


# --------------------------------------------------------------------------------------------
# 3. Replies from the simulator (default topology, --ephemeral, as admin)


def _post(conn, fx):
    auth = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    conn.request("POST", ZAPI_PATH, body=fx.request,
                 headers={"Authorization": f"Basic {auth}", "Content-Type": fx.content_type})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{fx.client}/{fx.name}: HTTP {r.status}: {data[:300]!r}")
    return data


def _sim_env(debug_log=False):
    env = dict(os.environ)
    env.pop("ONTAP_SIM_PASSWORD", None)  # the default password, as the fixtures promise
    if debug_log:
        env["RUST_LOG"] = "ontap_sim=debug"
    else:
        env.pop("RUST_LOG", None)
    return env


def replay(fixtures):
    with tempfile.TemporaryDirectory(prefix="ontap-sim-capture-") as tmp:
        sim = SimProcess(["--ephemeral", "--listen", "127.0.0.1:0"],
                         log_path=Path(tmp) / "stderr.log", env=_sim_env())
        try:
            ctx = ssl._create_unverified_context()
            conn = http.client.HTTPSConnection(sim.host, sim.port, context=ctx, timeout=10)
            for fx in fixtures:
                fx.response = _post(conn, fx)
            for fx in reversed(fixtures):
                again = _post(conn, fx)
                if again != fx.response:
                    raise RuntimeError(
                        f"{fx.client}/{fx.name}: a second post gave a different reply:\n"
                        f"{fx.response.decode()}\n---\n{again.decode()}")
            conn.close()
        finally:
            code = sim.stop()
            if code != 0:
                print(f"ontap-sim exited with {code}; stderr:\n{sim.stderr()}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# 4. Scenarios: ordered sequences, one fresh simulator each

# Reply elements whose text depends on the clock. Their text is replaced by PLACEHOLDER in the
# stored replies and, by the replayer, in both the stored and the live reply before comparing.
NORMALISED_ELEMENTS = (
    "creation-time",           # volume-id-attributes (volume-get-iter)
    "access-time",             # snapshot-info (snapshot-get-iter)
    "create-time",             # snapshot-info
    "job-start-time",          # job-info (job-get-iter)
    "job-end-time",            # job-info
    "deletion-request-time",   # volume-recovery-queue-info
    "volume-expiration-time",  # volume-recovery-queue-info
)
PLACEHOLDER = b"#normalised#"


def normalise(body):
    """Replace the text of every <E>text</E> with E in NORMALISED_ELEMENTS (text without markup)
    by PLACEHOLDER; every other byte stays. tests/fixtures_replay.rs implements the same rule."""
    for name in NORMALISED_ELEMENTS:
        start, end = f"<{name}>".encode(), f"</{name}>".encode()
        out, i = [], 0
        while True:
            j = body.find(start, i)
            if j < 0:
                break
            k = body.find(end, j + len(start))
            if k < 0:
                break
            text = body[j + len(start):k]
            if b"<" in text:  # not a leaf: leave it alone
                out.append(body[i:j + len(start)])
                i = j + len(start)
                continue
            out.append(body[i:j + len(start)] + PLACEHOLDER)
            i = k
        out.append(body[i:])
        body = b"".join(out)
    return body


Request = Union[bytes, Callable[[list], bytes]]


@dataclass
class Step:
    name: str                    # file stem after "NN-"
    what: str                    # one line for the README
    request: Request             # bytes, or built from the earlier raw replies of the scenario
    content_type: str = "application/xml"
    expect: tuple = ("passed",)  # allowed outcomes: "passed" or an errno
    api: str = ""
    seen: Optional[bytes] = None  # Ansible: the reply the client got during the capture
    response: bytes = b""         # normalised


@dataclass
class Scenario:
    name: str
    client: str                  # "trident" or "ansible"
    what: str                    # README paragraph
    steps: list = field(default_factory=list)
    runs: list = field(default_factory=list)  # Ansible: the module runs, for the README


def api_of(body):
    root = etree.fromstring(body)
    kids = [c for c in root if isinstance(c.tag, str)]
    if etree.QName(root).localname != "netapp" or len(kids) != 1:
        raise RuntimeError(f"not a one-API ZAPI request: {body[:200]!r}")
    return etree.QName(kids[0]).localname


def outcome(body):
    root = etree.fromstring(body)
    res = [c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "results"]
    if len(res) != 1:
        raise RuntimeError(f"reply without one <results>: {body[:300]!r}")
    if res[0].get("status") == "passed":
        return "passed"
    return res[0].get("errno") or "failed"


def first_text(body, name):
    for el in etree.fromstring(body).iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == name:
            return el.text or ""
    raise RuntimeError(f"no <{name}> in {body[:500]!r}")


# -- 4.1 Trident (trident-zapi.md section 3), written in Trident's wire style -------------------

SVM = "svm1"
# CSI names: storagePrefix "trident_" + the PV name with '-' turned into '_' (section 3).
T_VOL = "trident_pvc_6f9a1c2e_3b4d_4e5f_8a9b_0c1d2e3f4a5b"
T_CLONE = "trident_pvc_7a8b9c0d_1e2f_4a3b_9c4d_5e6f7a8b9c0d"
# A clone without a named source snapshot: Trident names the snapshot after the clock. Frozen here,
# so the requests are reproducible and the replies echo a fixed name.
T_CLONE_SNAP = "20261125T120000Z"
# CSI VolumeSnapshot names.
T_SNAP1 = "snapshot-0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
T_SNAP2 = "snapshot-1c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f"
T_EMPTY = "trident_empty"
NODE_IPS = ("10.0.0.11", "10.0.0.12")
GIB = 1024**3


def go_struct(d):
    """dict -> (name, value) pairs in Go struct order (alphabetical), recursively."""
    if isinstance(d, str):
        return d
    return [(k, go_struct(v)) for k, v in sorted(d.items())]


def tr(api, inputs=None, vfiler=SVM):
    return trident_request(api, go_struct(inputs or {}), vfiler)


def t_step(name, what, api, inputs=None, expect=("passed",)):
    return Step(name, what, tr(api, inputs), expect=tuple(expect))


def t_volume_info(name, what, vol):
    """VolumeInfo / VolumeGet (section 3.3): exact name, flexvol, online; no desired-attributes."""
    return t_step(name, what, "volume-get-iter", {
        "max-records": "100",
        "query": {"volume-attributes": {
            "volume-id-attributes": {"name": vol, "style-extended": "flexvol"},
            "volume-state-attributes": {"state": "online"},
        }},
    })


def t_probe(name, what, vol, expect):
    return t_step(name, what, "volume-size", {"volume": vol}, expect)


def t_modify(name, what, vol, attrs):
    return t_step(name, what, "volume-modify-iter", {
        "attributes": {"volume-attributes": attrs},
        "query": {"volume-attributes": {"volume-id-attributes": {"name": vol}}},
    })


def t_create(vol, export_policy="default", sec="3.1"):
    """Section 3.1 with the defaults of section 3 (no junction-path in volume-create)."""
    return [
        t_probe("volume-size-probe", f"{sec} step 1: existence probe, 13040 = absent", vol,
                ("13040",)),
        t_step("volume-create", f"{sec} step 3: 1 GiB, defaults of section 3, export policy "
               f"`{export_policy}`", "volume-create", {
                   "containing-aggr-name": "aggr1",
                   "export-policy": export_policy,
                   "percentage-snapshot-reserve": "0",
                   "size": str(GIB),
                   "snapshot-policy": "none",
                   "space-reserve": "none",
                   "tiering-policy": "none",
                   "unix-permissions": "---rwxrwxrwx",
                   "volume": vol,
                   "volume-comment": "",
                   "volume-security-style": "unix",
               }),
        t_modify("volume-modify-iter-snapdir", f"{sec} step 4: snapdir-access-enabled=false", vol,
                 {"volume-snapshot-attributes": {"snapdir-access-enabled": "false"}}),
        t_step("volume-mount", f"{sec} step 5: junction `/<name>`", "volume-mount",
               {"junction-path": f"/{vol}", "volume-name": vol}),
    ]


def t_snapshot_create(snap, vol, tag):
    """Section 3.8 Create."""
    return [
        t_probe(f"volume-size-probe-{tag}", "3.8 create step 1: the volume exists", vol,
                ("passed",)),
        t_volume_info(f"volume-get-iter-used-{tag}", "3.8 create step 2: VolumeUsedSize "
                      "(size-used)", vol),
        t_step(f"snapshot-create-{tag}", "3.8 create step 3", "snapshot-create",
               {"snapshot": snap, "volume": vol}),
        t_step(f"snapshot-get-iter-{tag}", "3.8 create step 4: exactly 1 record, name and "
               "access-time", "snapshot-get-iter", {
                   "max-records": "100",
                   "query": {"snapshot-info": {"name": snap, "volume": vol}},
               }),
    ]


def t_rule_list(name, what, policy):
    return t_step(name, what, "export-rule-get-iter", {
        "max-records": "100",
        "query": {"export-rule-info": {"policy-name": policy}},
    })


def t_rule_create(name, what, policy, ip, expect=("passed",)):
    return t_step(name, what, "export-rule-create", {
        "client-match": ip,
        "policy-name": policy,
        "protocol": {"access-protocol": "nfs"},
        "ro-rule": {"security-flavor": "any"},
        "rw-rule": {"security-flavor": "any"},
        "super-user-security": {"security-flavor": "any"},
    }, expect)


def _recovery_queue_purge(responses):
    """Section 3.7 step 6: purge the entry volume-recovery-queue-get-iter just listed."""
    name = first_text(responses[-1], "volume-name")
    return tr("volume-recovery-queue-purge", {"volume-name": name})


def trident_scenarios():
    v, c = T_VOL, T_CLONE
    scenarios = []

    steps = t_create(v) + [
        t_volume_info("volume-get-iter-followup", "3.2 CreateFollowup: VolumeInfo (the junction "
                      "is set, so no second mount)", v),
        t_probe("volume-size-get", "3.3 Get: the probe now passes", v, ("passed",)),
    ]
    scenarios.append(Scenario(
        "trident-create", "trident",
        "Section 3.1 Create with the defaults of section 3 (ontap-nas, CSI name, no "
        "autoExportPolicy), then 3.2 CreateFollowup and 3.3 Get.", steps))

    steps = t_create(v) + [
        t_volume_info("volume-get-iter-source", "3.5 step 1: VolumeInfo on the source", v),
        t_probe("volume-size-probe-clone", "3.5 step 2: the clone name is free (13040)", c,
                ("13040",)),
        t_step("snapshot-create", "3.5 step 3: no source snapshot named, Trident makes one "
               "named after the clock (frozen here)", "snapshot-create",
               {"snapshot": T_CLONE_SNAP, "volume": v}),
        t_step("volume-clone-create", "3.5 step 4", "volume-clone-create",
               {"parent-snapshot": T_CLONE_SNAP, "parent-volume": v, "volume": c}),
        t_volume_info("volume-get-iter-clone-state", "3.5 step 5: wait for state=online", c),
        t_modify("volume-modify-iter-comment", "3.5 step 6: the clone comment (the source's, "
                 "empty)", c, {"volume-id-attributes": {"comment": ""}}),
        t_step("volume-mount-clone", "3.5 step 7", "volume-mount",
               {"junction-path": f"/{c}", "volume-name": c}),
        t_modify("volume-modify-iter-export-policy", "3.5 step 10: the pool's export policy",
                 c, {"volume-export-attributes": {"policy": "default"}}),
        t_volume_info("volume-get-iter-followup", "3.5 step 11: CreateFollowup", c),
    ]
    scenarios.append(Scenario(
        "trident-clone", "trident",
        "Section 3.5 Clone of a volume made as in 3.1, without a named source snapshot and "
        "without splitOnClone.", steps))

    steps = t_create(v) + [
        t_probe("volume-size-probe", "3.6 step 1", v, ("passed",)),
        t_volume_info("volume-get-iter-size", "3.6 step 2: VolumeSize", v),
        t_volume_info("volume-get-iter-info", "3.6 step 3: snapshot policy and reserve", v),
        t_volume_info("volume-get-iter-aggregate", "3.6 step 4: containing-aggregate-name", v),
        t_step("volume-size-resize", "3.6 step 5: new-size 2 GiB in bytes", "volume-size",
               {"new-size": str(2 * GIB), "volume": v}),
        t_probe("volume-size-get", "3.3 Get after the resize", v, ("passed",)),
    ]
    scenarios.append(Scenario(
        "trident-resize", "trident", "Section 3.6 Resize of a volume made as in 3.1 to 2 GiB.",
        steps))

    loc = f"{SVM}:{v}"
    steps = t_create(v) + [
        t_probe("volume-size-probe", "3.7 step 1: the volume exists", v, ("passed",)),
        t_step("snapmirror-destroy", "3.7 step 2: no relationship, 15661 is fine",
               "snapmirror-destroy", {"destination-location": loc}, ("passed", "15661")),
        t_step("snapmirror-release", "3.7 step 3: 19068 is fine", "snapmirror-release",
               {"destination-location": loc, "relationship-info-only": "true"},
               ("passed", "19068")),
        t_step("snapmirror-get-destination-iter", "3.7 step 4: no destinations",
               "snapmirror-get-destination-iter",
               {"query": {"snapmirror-destination-info": {"source-location": loc}}}),
        t_step("volume-destroy", "3.7 step 5", "volume-destroy",
               {"name": v, "unmount-and-offline": "true"}),
        t_step("volume-recovery-queue-get-iter", "3.7 step 6 (skipRecoveryQueue): the queue "
               "entry", "volume-recovery-queue-get-iter",
               {"query": {"volume-recovery-queue-info": {"volume-name": f"{v}*",
                                                         "vserver-name": SVM}}}),
        Step("volume-recovery-queue-purge", "3.7 step 6: purge the listed entry",
             _recovery_queue_purge),
        t_probe("volume-size-probe-gone", "3.7 step 1 of a repeated Destroy: 13040, Destroy "
                "returns success", v, ("13040",)),
        t_step("volume-destroy-gone", "3.7 step 5 racing another delete: 13040 counts as "
               "success", "volume-destroy", {"name": v, "unmount-and-offline": "true"},
               ("13040",)),
    ]
    scenarios.append(Scenario(
        "trident-destroy", "trident",
        "Section 3.7 Destroy of a volume made as in 3.1, with the SnapMirror probes and "
        "skipRecoveryQueue, then the calls a repeated Destroy makes.", steps))

    s1, s2 = T_SNAP1, T_SNAP2
    steps = t_create(v) + t_snapshot_create(s1, v, "1") + t_snapshot_create(s2, v, "2") + [
        t_volume_info("volume-get-iter-list", "3.8 list step 1: size-used", v),
        t_step("snapshot-get-iter-list", "3.8 list step 2: the volume's snapshots",
               "snapshot-get-iter", {"max-records": "100",
                                     "query": {"snapshot-info": {"volume": v}}}),
        t_step("snapshot-restore-volume", "3.8 restore to the newest snapshot",
               "snapshot-restore-volume",
               {"preserve-lun-ids": "true", "snapshot": s2, "volume": v}),
        t_probe("volume-size-probe-clone", "3.5 step 2 for a clone from snapshot 1", c,
                ("13040",)),
        t_step("volume-clone-create", "3.5 step 4 with the named snapshot 1",
               "volume-clone-create", {"parent-snapshot": s1, "parent-volume": v, "volume": c}),
        t_volume_info("volume-get-iter-clone-state", "3.5 step 5", c),
        t_step("volume-mount-clone", "3.5 step 7", "volume-mount",
               {"junction-path": f"/{c}", "volume-name": c}),
        t_step("snapshot-delete-busy", "3.8 delete: the clone depends on it, 13024",
               "snapshot-delete", {"snapshot": s1, "volume": v}, ("13024",)),
        t_step("volume-get-iter-clone-children", "3.8 delete retry: the clones of the "
               "snapshot", "volume-get-iter", {
                   "max-records": "100",
                   "query": {"volume-attributes": {"volume-clone-attributes": {
                       "volume-clone-parent-attributes": {"name": v, "snapshot-name": s1}}}},
               }),
        t_step("volume-clone-split-start", "3.8 delete retry: split the first child",
               "volume-clone-split-start", {"volume": c}),
        t_step("snapshot-delete", "3.8 delete after the split", "snapshot-delete",
               {"snapshot": s1, "volume": v}),
        t_step("snapshot-delete-2", "3.8 delete of snapshot 2", "snapshot-delete",
               {"snapshot": s2, "volume": v}),
        t_step("snapshot-get-iter-empty", "3.8 list: none left", "snapshot-get-iter",
               {"max-records": "100", "query": {"snapshot-info": {"volume": v}}}),
    ]
    scenarios.append(Scenario(
        "trident-snapshots", "trident",
        "Section 3.8 snapshots of a volume made as in 3.1: two creates, list, restore, a clone "
        "from the first (3.5 with a named snapshot), the busy delete (13024) and its split "
        "retry.", steps))

    n1, n2 = NODE_IPS
    steps = [t_step("export-policy-create-empty", "3.9 Create: `<prefix>empty` first",
                    "export-policy-create", {"policy-name": T_EMPTY})]
    steps += t_create(v, export_policy=T_EMPTY)
    steps += [
        t_step("export-policy-get-missing", "3.9 Publish node 1: the per-volume policy is "
               "missing (15661)", "export-policy-get", {"policy-name": v}, ("15661",)),
        t_step("export-policy-create", "3.9 Publish node 1: create it", "export-policy-create",
               {"policy-name": v}),
        t_rule_list("export-rule-get-iter-publish-1", "3.9 Publish node 1: no rules yet", v),
        t_rule_create("export-rule-create-node-1", f"3.9 Publish node 1: rule for {n1}", v, n1),
        t_modify("volume-modify-iter-policy", "3.9 Publish: the volume uses its own policy", v,
                 {"volume-export-attributes": {"policy": v}}),
        t_step("export-policy-get-publish-2", "3.9 Publish node 2: the policy exists",
               "export-policy-get", {"policy-name": v}),
        t_rule_list("export-rule-get-iter-publish-2", "3.9 Publish node 2: one rule", v),
        t_rule_create("export-rule-create-node-2", f"3.9 Publish node 2: rule for {n2}", v, n2),
        t_rule_create("export-rule-create-node-2-again", "3.9 a racing publish: 13001 "
                      "\"policy already contains a rule\" is ignored", v, n2, ("13001",)),
        t_modify("volume-modify-iter-policy-2", "3.9 Publish node 2: policy again", v,
                 {"volume-export-attributes": {"policy": v}}),
        t_volume_info("volume-get-iter-unpublish-1", "3.9 Unpublish node 1: the volume's policy",
                      v),
        t_step("export-policy-create-empty-exists", "3.9 Unpublish: `<prefix>empty` exists "
               "(13130)", "export-policy-create", {"policy-name": T_EMPTY}, ("13130",)),
        t_step("export-policy-get-unpublish-1", "3.9 Unpublish node 1", "export-policy-get",
               {"policy-name": v}),
        t_rule_list("export-rule-get-iter-unpublish-1", "3.9 Unpublish node 1: two rules", v),
        t_step("export-rule-destroy-node-1", "3.9 Unpublish node 1: its rule (index 1)",
               "export-rule-destroy", {"policy-name": v, "rule-index": "1"}),
        t_rule_list("export-rule-get-iter-unpublish-1-after", "3.9 Unpublish node 1: one rule "
                    "left, the policy stays", v),
        t_volume_info("volume-get-iter-unpublish-2", "3.9 Unpublish node 2 (the last)", v),
        t_step("export-policy-create-empty-exists-2", "3.9 Unpublish: 13130 again",
               "export-policy-create", {"policy-name": T_EMPTY}, ("13130",)),
        t_step("export-policy-get-unpublish-2", "3.9 Unpublish node 2", "export-policy-get",
               {"policy-name": v}),
        t_rule_list("export-rule-get-iter-unpublish-2", "3.9 Unpublish node 2: one rule", v),
        t_step("export-rule-destroy-node-2", "3.9 Unpublish node 2: its rule (index 2)",
               "export-rule-destroy", {"policy-name": v, "rule-index": "2"}),
        t_step("export-rule-destroy-node-2-again", "3.9 a repeated rule destroy: 15661 is "
               "fine", "export-rule-destroy", {"policy-name": v, "rule-index": "2"},
               ("15661",)),
        t_rule_list("export-rule-get-iter-unpublish-2-after", "3.9 Unpublish node 2: no rules "
                    "left", v),
        t_step("export-policy-get-empty", "3.9 Unpublish: `<prefix>empty` exists",
               "export-policy-get", {"policy-name": T_EMPTY}),
        t_modify("volume-modify-iter-policy-empty", "3.9 Unpublish: back to `<prefix>empty`", v,
                 {"volume-export-attributes": {"policy": T_EMPTY}}),
        t_step("export-policy-get-before-destroy", "3.9 Unpublish", "export-policy-get",
               {"policy-name": v}),
        t_step("export-policy-destroy", "3.9 Unpublish: the per-volume policy goes",
               "export-policy-destroy", {"policy-name": v}),
        t_step("export-policy-get-gone", "the policy is gone (15661)", "export-policy-get",
               {"policy-name": v}, ("15661",)),
    ]
    scenarios.append(Scenario(
        "trident-export-policy", "trident",
        "Section 3.9 with CSI and autoExportPolicy: Create on `trident_empty`, Publish to two "
        f"nodes ({n1}, {n2}), then Unpublish from both until the per-volume policy is "
        "destroyed.", steps))

    for sc in scenarios:
        for st in sc.steps:
            st.api = api_of(st.request) if isinstance(st.request, bytes) else st.name
    return scenarios


# -- 4.2 Ansible netapp.ontap (use_rest=never), captured from the simulator's debug log -------

ANSIBLE_VENV = Path(os.environ.get("ANSIBLE_VENV", "/tmp/venv-ansible"))
ANSIBLE_TIMEOUT = 180
A_VOL = "vol1"


@dataclass
class Run:
    label: str      # step-name prefix
    module: str     # netapp.ontap.<module>
    args: dict
    changed: bool   # the expected `changed`
    # A known simulator bug makes this run fail: the run is captured only once it succeeds; until
    # then its requests are left out and the script reports the bug and exits with 3.
    bug: str = ""
    excluded: bool = False


def _vol_args(**extra):
    a = {"state": "present", "vserver": SVM, "name": A_VOL, "aggregate_name": "aggr1",
         "size": 10, "size_unit": "gb", "junction_path": f"/{A_VOL}", "export_policy": "default"}
    a.update(extra)
    return a


RULE_ARGS = {"state": "present", "vserver": SVM, "name": "pol1", "client_match": "0.0.0.0/0",
             "ro_rule": "sys", "rw_rule": "sys", "protocol": "nfs3",
             "super_user_security": "sys"}
SNAP_ARGS = {"state": "present", "vserver": SVM, "volume": A_VOL, "snapshot": "snap1"}
QTREE_ARGS = {"state": "present", "vserver": SVM, "flexvol_name": A_VOL, "name": "qt1",
              "security_style": "unix", "unix_permissions": "0755",
              "export_policy": "default"}

ANSIBLE_SCENARIOS = [
    ("ansible-volume", "na_ontap_volume: create, a second identical run (no change), resize to "
     "20 GiB, offline, delete.", [
         Run("create", "na_ontap_volume", _vol_args(), True),
         Run("rerun", "na_ontap_volume", _vol_args(), False),
         Run("resize", "na_ontap_volume", _vol_args(size=20), True),
         Run("offline", "na_ontap_volume", _vol_args(size=20, is_online=False), True),
         Run("delete", "na_ontap_volume", {"state": "absent", "vserver": SVM, "name": A_VOL},
             True),
     ]),
    ("ansible-export", "na_ontap_export_policy and na_ontap_export_policy_rule: a policy, a "
     "rule in it, and second runs of both (no change).", [
         Run("policy", "na_ontap_export_policy",
             {"state": "present", "vserver": SVM, "name": "pol1"}, True),
         Run("policy-rerun", "na_ontap_export_policy",
             {"state": "present", "vserver": SVM, "name": "pol1"}, False),
         Run("rule", "na_ontap_export_policy_rule", RULE_ARGS, True),
         Run("rule-rerun", "na_ontap_export_policy_rule", RULE_ARGS, False),
     ]),
    ("ansible-snapshot", "na_ontap_snapshot on a volume made by na_ontap_volume: create, a "
     "second run (no change), delete.", [
         Run("volume", "na_ontap_volume", _vol_args(), True),
         Run("snapshot", "na_ontap_snapshot", SNAP_ARGS, True),
         Run("snapshot-rerun", "na_ontap_snapshot", SNAP_ARGS, False),
         Run("snapshot-delete", "na_ontap_snapshot", dict(SNAP_ARGS, state="absent"), True),
     ]),
    ("ansible-qtree", "na_ontap_qtree on a volume made by na_ontap_volume: create, a second "
     "run (no change), delete.", [
         Run("volume", "na_ontap_volume", _vol_args(), True),
         Run("qtree", "na_ontap_qtree", QTREE_ARGS, True),
         Run("qtree-rerun", "na_ontap_qtree", QTREE_ARGS, False),
         Run("qtree-delete", "na_ontap_qtree", dict(QTREE_ARGS, state="absent"), True),
     ]),
]


# Known simulator bugs hit during this capture (see Run.bug).
KNOWN_BUGS = []


def _check_ansible():
    python = ANSIBLE_VENV / "bin" / "python"
    if not (ANSIBLE_VENV / "bin" / "ansible").is_file() or not python.is_file():
        return (f"no Ansible in ANSIBLE_VENV={ANSIBLE_VENV}: create it with `python3 -m venv "
                f"{ANSIBLE_VENV} && {ANSIBLE_VENV}/bin/pip install ansible==12.3.0 netapp-lib "
                "requests`, or pass --reuse-ansible-requests")
    return None


def _run_module(run, host, port, work):
    env = dict(os.environ)
    env.update({
        "PATH": f"{ANSIBLE_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_PYTHON_INTERPRETER": str(ANSIBLE_VENV / "bin" / "python"),
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(work / "tmp"),
        "ANSIBLE_HOME": str(work / "home"),
        "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
    })
    env.pop("ANSIBLE_INVENTORY", None)
    (work / "ansible.cfg").write_text("[defaults]\n")
    args = {"hostname": host, "username": "admin", "password": PASSWORD, "https": True,
            "validate_certs": False, "http_port": port, "use_rest": "never", **run.args}
    cmd = [str(ANSIBLE_VENV / "bin" / "ansible"), "localhost", "-m", f"netapp.ontap.{run.module}",
           "-a", json.dumps(args)]
    p = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True,
                       timeout=ANSIBLE_TIMEOUT)
    try:
        res = json.loads(p.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise RuntimeError(f"ansible {run.module}: cannot read the json callback output "
                           f"(rc {p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    if res.get("failed") or res.get("unreachable"):
        raise RuntimeError(f"ansible {run.module} {json.dumps(run.args)} failed: "
                           f"{res.get('msg')}\n{str(res.get('exception', ''))[-2000:]}")
    if res.get("changed") is not run.changed:
        raise RuntimeError(f"ansible {run.module} {json.dumps(run.args)}: changed="
                           f"{res.get('changed')}, expected {run.changed}; "
                           f"modify={res.get('modify')}")


def _logged_bodies(log_text):
    """(request, response) bodies from the simulator's json debug log, in request order. A reply
    is paired with the open request of the same span (span ids may be reused later)."""
    out, pending = [], {}
    for line in log_text.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        fields = ev.get("fields", {})
        span = (ev.get("span") or {}).get("id")
        if fields.get("message") == "request body":
            pending[span] = len(out)
            out.append([fields["body"], None])
        elif fields.get("message") == "response body" and span in pending:
            out[pending.pop(span)][1] = fields["body"]
    for req, resp in out:
        if resp is None:
            raise RuntimeError(f"no logged reply to {req[:200]!r}")
        # The simulator logs at most 8192 characters of a body.
        if len(req) >= 8192 or len(resp) >= 8192:
            raise RuntimeError(f"a logged body may be truncated: {req[:200]!r}")
    return [(req.encode(), resp.encode()) for req, resp in out]


def capture_ansible_scenario(name, what, runs):
    sc = Scenario(name, "ansible", what, runs=runs)
    with tempfile.TemporaryDirectory(prefix="ontap-sim-ansible-") as tmp:
        tmp = Path(tmp)
        sim = SimProcess(["--ephemeral", "--listen", "127.0.0.1:0", "--log-format", "json"],
                         log_path=tmp / "stderr.log", env=_sim_env(debug_log=True))
        try:
            seen = 0
            for run in runs:
                work = tmp / run.label
                work.mkdir()
                try:
                    _run_module(run, sim.host, sim.port, work)
                except RuntimeError as e:
                    if not run.bug:
                        raise
                    # Left out; it must be the last run or leave the state as it was.
                    run.excluded = True
                    KNOWN_BUGS.append(f"{name}/{run.label}: {run.bug}\n    {e}")
                    seen = len(_logged_bodies(sim.stderr()))
                    continue
                if run.bug:
                    print(f"NOTE {name}/{run.label} passes now: remove its `bug` mark "
                          f"({run.bug})", file=sys.stderr)
                bodies = _logged_bodies(sim.stderr())
                if len(bodies) == seen:
                    raise RuntimeError(f"{name}/{run.label}: Ansible sent no ZAPI request")
                for req, resp in bodies[seen:]:
                    api = api_of(req)
                    sc.steps.append(Step(f"{run.label}-{api}", f"`{run.label}`", req,
                                         content_type="text/xml", expect=(outcome(resp),),
                                         api=api, seen=resp))
                seen = len(bodies)
        finally:
            code = sim.stop()
            if code != 0:
                print(f"ontap-sim exited with {code}; stderr:\n{sim.stderr()[-3000:]}",
                      file=sys.stderr)
    return sc


def ansible_from_fixtures(name, what, runs, out):
    """The Ansible scenario's requests as stored under `out` (no Ansible needed)."""
    sc = Scenario(name, "ansible", what, runs=runs)
    labels = sorted((r.label for r in runs), key=len, reverse=True)
    for req_path in scenario_request_files(out / "scenarios" / name):
        stem = req_path.name[:-len(".request.xml")].split("-", 1)[1]
        label = next((lb for lb in labels if stem.startswith(lb + "-")), None)
        if label is None:
            raise RuntimeError(f"{req_path}: no module run is labelled like it")
        body = req_path.read_bytes()
        stored = req_path.with_name(req_path.name.replace(".request.", ".response."))
        sc.steps.append(Step(stem, f"`{label}`", body, content_type="text/xml",
                             expect=(outcome(stored.read_bytes()),), api=api_of(body)))
    if not sc.steps:
        raise RuntimeError(f"--reuse-ansible-requests: {out}/scenarios/{name} holds no requests")
    for r in runs:
        if not any(st.what == f"`{r.label}`" for st in sc.steps):
            r.excluded = True
            if r.bug:
                KNOWN_BUGS.append(f"{name}/{r.label}: {r.bug} (not captured in {out})")
    return sc


def scenario_request_files(d):
    files = [p for p in d.glob("*.request.xml")] if d.is_dir() else []
    return sorted(files, key=lambda p: int(p.name.split("-", 1)[0]))


# -- 4.3 Replay ---------------------------------------------------------------------------------


def _post_raw(conn, body, content_type):
    auth = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    conn.request("POST", ZAPI_PATH, body=body,
                 headers={"Authorization": f"Basic {auth}", "Content-Type": content_type})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {data[:300]!r}")
    return data


def _replay_once(sc):
    """Post every step in order to a fresh simulator; returns the raw replies."""
    with tempfile.TemporaryDirectory(prefix="ontap-sim-scenario-") as tmp:
        sim = SimProcess(["--ephemeral", "--listen", "127.0.0.1:0"],
                         log_path=Path(tmp) / "stderr.log", env=_sim_env())
        raw = []
        try:
            ctx = ssl._create_unverified_context()
            conn = http.client.HTTPSConnection(sim.host, sim.port, context=ctx, timeout=10)
            for st in sc.steps:
                if callable(st.request):
                    st.request = st.request(raw)
                    st.api = api_of(st.request)
                raw.append(_post_raw(conn, st.request, st.content_type))
            conn.close()
        finally:
            code = sim.stop()
            if code != 0:
                print(f"ontap-sim exited with {code}; stderr:\n{sim.stderr()}", file=sys.stderr)
        return raw


_NUMBER_TEXT = re.compile(rb"<([A-Za-z0-9_.-]+)>([0-9]{9,11})</\1>")


def clock_like(body):
    """Leaf elements whose text is a Unix time within two days of now: clock-dependent text the
    normalisation does not cover yet (two quick replays may fall in the same second)."""
    now = time.time()
    return sorted({m.group(1).decode() for m in _NUMBER_TEXT.finditer(body)
                   if abs(int(m.group(2)) - now) < 2 * 86400})


def replay_scenario(sc):
    first = _replay_once(sc)
    second = _replay_once(sc)
    problems = []
    for i, (st, a, b) in enumerate(zip(sc.steps, first, second), 1):
        where = f"{sc.name}/{i:02d}-{st.name}"
        st.response = normalise(a)
        for el in clock_like(st.response):
            problems.append(f"{where}: <{el}> holds the current time; add it to "
                            "NORMALISED_ELEMENTS (and to tests/fixtures_replay.rs)")
        if normalise(b) != st.response:
            problems.append(f"{where}: two fresh simulators replied differently:\n"
                            f"{a.decode()}\n---\n{b.decode()}")
        if st.seen is not None and normalise(st.seen) != st.response:
            problems.append(f"{where}: the replay differs from what Ansible got:\n"
                            f"{st.seen.decode()}\n---\n{a.decode()}")
        got = outcome(a)
        if got not in st.expect:
            problems.append(f"{where}: {st.api} gave {got}, expected {' or '.join(st.expect)}:\n"
                            f"{a.decode()}")
    if problems:
        raise RuntimeError("\n".join(problems))


# --------------------------------------------------------------------------------------------
# Output


def _ansible_args(args):
    return " ".join(f"{k}={v}" for k, v in args.items())


def scenarios_readme(scenarios):
    parts = []
    for sc in scenarios:
        parts.append(f"### `{sc.name}`\n\n{sc.what}\n")
        if sc.runs:
            rows = [f"| `{r.label}` | `{r.module}` | `{_ansible_args(r.args)}` | "
                    f"{'yes' if r.changed else 'no'}"
                    + (f" (**left out**: known simulator bug: {r.bug})" if r.excluded else "")
                    + " |" for r in sc.runs]
            parts.append("| run | module | arguments (plus the connection arguments) | changed |\n"
                         "|---|---|---|---|\n" + "\n".join(rows) + "\n")
        rows = []
        for i, st in enumerate(sc.steps, 1):
            rows.append(f"| `{i:02d}-{st.name}` | `{st.api}` | {outcome(st.response)} | "
                        f"{st.what} |")
        head = "from run" if sc.runs else "trident-zapi.md"
        parts.append(f"| step | API | result | {head} |\n|---|---|---|---|\n"
                     + "\n".join(rows) + "\n")
    return "\n".join(parts)


def readme(fixtures, scenarios):
    rows = []
    for fx in fixtures:
        tunnel = f'`vfiler="{fx.vfiler}"`' if fx.vfiler else "none"
        rows.append(f"| `{fx.client}/{fx.name}` | `{fx.api}` | {tunnel} | {fx.what} |")
    table = "\n".join(rows)
    elements = ", ".join(f"`{e}`" for e in NORMALISED_ELEMENTS)
    placeholder = PLACEHOLDER.decode()
    return f"""# api-fixtures

Real ZAPI request bodies from client libraries, each paired with the reply `ontap-sim` gives to it:
single requests (`<client>/`) and ordered lifecycle scenarios (`scenarios/`). Generated by
`tests/python/capture_fixtures.py`; do not edit by hand. Regenerate after a change to the
simulator's replies and review the diff:

    python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt
    cargo build
    .venv/bin/python tests/python/capture_fixtures.py          # rewrites this directory
    .venv/bin/python tests/python/capture_fixtures.py --check  # exits 1 if it is stale

The Ansible scenarios run Ansible from `$ANSIBLE_VENV` (default `/tmp/venv-ansible`, made with
`python3 -m venv /tmp/venv-ansible && /tmp/venv-ansible/bin/pip install ansible==12.3.0 netapp-lib
requests`). Without it, add `--reuse-ansible-requests`: the Ansible request bodies are then taken
from this directory and only the replies are regenerated. `tests/fixtures_replay.rs`
(`cargo test --test fixtures_replay`) replays everything here.

## Layout

    api-fixtures/<client>/<name>.request.xml    the exact HTTP request body the client sends
    api-fixtures/<client>/<name>.response.xml   the exact HTTP response body ontap-sim returns
    api-fixtures/scenarios/<scenario>/NN-<step>.request.xml    step NN of an ordered scenario
    api-fixtures/scenarios/<scenario>/NN-<step>.response.xml   its reply, normalised (below)

`<client>` is `netapp-lib` or `trident`. All files are raw bytes: no added or stripped trailing
newline, no re-indentation. A replayer enumerates `<client>/*.request.xml` and pairs each with the
`.response.xml` of the same stem; it enumerates `scenarios/*/` and, in each, the `NN-*.request.xml`
in the numeric order of `NN` (01, 02, ... without gaps). This README is not a fixture.

## Replay contract

Everything replays against a simulator started as

    ontap-sim serve --ephemeral --listen 127.0.0.1:0

(the built-in default topology, no `--config`; cluster `cluster1`, ONTAP 9.14.1, ONTAPI 1.241,
node `cluster1-01`, aggregate `aggr1`, SVM `svm1`; `ONTAP_SIM_PASSWORD` unset), with
`POST /servlets/netapp.servlets.admin.XMLrequest_filer` over HTTPS and `Authorization: Basic` for
user `admin`, password `netapp1!` (preemptively; the 401 challenge netapp-lib goes through does not
change the body). Every reply is HTTP 200.

- **Single requests** replay independently and in any order, all against one simulator; the reply
  body equals `<name>.response.xml` byte for byte.
- **Scenarios** replay step by step in `NN` order, each scenario against a simulator of its own that
  has served nothing else (a fresh `--ephemeral` process, or a fresh empty `--state-dir`); the
  reply to step `NN` equals `NN-<step>.response.xml` after normalisation.

Replies depend only on the topology's seed (UUIDs and serial numbers are derived from it) and on
the requests before them, never on the listen port or the order of unrelated requests; only the
clock-dependent text below varies. The capture script checks this by posting every single request
twice (second round in reverse order), by replaying every scenario on two fresh simulators, by
refusing a scenario reply in which an element not listed below holds a Unix time near the capture
time, and by being run twice with identical output.
`Content-Type` is `text/xml` from netapp-lib and Ansible and `application/xml` from Trident; the
simulator ignores it.

### Normalisation (scenarios only)

The text of these reply elements depends on the clock: {elements}
(the volume's, snapshot's, job's and recovery-queue entry's times in Unix seconds). In a leaf
element `<E>text</E>` whose name `E` is one of them (exact name, no attributes, text without `<`),
the text is replaced by `{placeholder}`: `<creation-time>1764072000</creation-time>` becomes
`<creation-time>{placeholder}</creation-time>`. The stored replies are already normalised; a
replayer normalises its live reply the same way (and, harmlessly, the stored one) and compares the
results byte for byte. Every other byte is exact, including the UUIDs, dsids, job ids and
recovery-queue names (they follow from the seed and the order of the steps).

Names Trident derives from the clock (the snapshot behind a clone made without a named snapshot,
`<UTC timestamp>`) are frozen in the requests when the scenarios are written (`{T_CLONE_SNAP}`), so
the replies echoing them are exact too. The one name the simulator derives from the clock (the
implicit snapshot `clone_<clone>.<seconds>` of a `volume-clone-create` without `parent-snapshot`)
occurs in no scenario.

## How each was captured

- **netapp-lib** (`netapp-lib==2021.6.25`, pinned in `tests/python/requirements.txt`): the call is
  made with `netapp_lib.api.zapi.zapi.NaServer` (`style="basic_auth"`) against a small plain-HTTP
  capture server inside the script, which answers the first POST with a 401 Basic challenge as the
  simulator does, and the body of the authenticated retry is saved (the two bodies are checked to be
  identical). netapp-lib sends no XML declaration and no whitespace, and adds `version` only after
  `set_api_version` and `vfiler` only when tunnelling.
- **trident** and **scenarios/trident-\\***: written by the script in the shape
  `shared/spec/trident-zapi.md` section 1.1 describes for Trident's ZAPI runner:
  `<?xml version="1.0" encoding="UTF-8"?>`, a `<netapp>` root with `xmlns`, `version="1.21"` and
  `vfiler="svm1"` when tunnelled, and the API element laid out like Go `xml.MarshalIndent` with
  prefix `" "` and indent `"    "` (children in Go struct order, alphabetical, empty elements as
  `<x></x>`, Go's text escaping). Inputs follow section 2.2 of that file for the single requests
  and section 3 for the scenarios (backend `svm` = `svm1`, CSI context, `storagePrefix`
  `trident_`, the defaults of section 3); the heartbeat's `event-description` JSON,
  `computer-name`, the PV and snapshot names and the node IPs are illustrative. The capture checks
  each step's outcome (`passed` or the errno section 3 expects).
- **scenarios/ansible-\\***: Ansible 12.3.0 (`netapp.ontap` 23.2.0) runs each module as
  `ansible localhost -m netapp.ontap.<module> -a '<json>'` with `hostname=127.0.0.1 username=admin
  password=netapp1! https=true validate_certs=false http_port=<port> use_rest=never` against
  `ontap-sim serve --ephemeral --log-format json` with `RUST_LOG=ontap_sim=debug`; the request
  bodies are the simulator's `request body` log records, byte for byte, in arrival order. Each
  module run must succeed with the `changed` listed; a run that fails on a known simulator bug is
  left out and marked in its scenario's table (the script then exits with 3). Ansible sends
  `version="1.110"` and `vfiler="svm1"`, no XML declaration and no whitespace. The replayed
  replies must equal, after normalisation, the ones Ansible got during the capture.

| fixture | API | tunnel | request |
|---|---|---|---|
{table}

## Scenarios

{scenarios_readme(scenarios)}"""


def write_all(fixtures, scenarios, out):
    out.mkdir(parents=True, exist_ok=True)
    for client in sorted({fx.client for fx in fixtures} | {"scenarios"}):
        d = out / client
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
    for fx in fixtures:
        (out / fx.client / f"{fx.name}.request.xml").write_bytes(fx.request)
        (out / fx.client / f"{fx.name}.response.xml").write_bytes(fx.response)
    for sc in scenarios:
        d = out / "scenarios" / sc.name
        d.mkdir()
        if len(sc.steps) > 99:
            raise RuntimeError(f"{sc.name}: more than 99 steps")
        for i, st in enumerate(sc.steps, 1):
            (d / f"{i:02d}-{st.name}.request.xml").write_bytes(st.request)
            (d / f"{i:02d}-{st.name}.response.xml").write_bytes(st.response)
    (out / "README.md").write_text(readme(fixtures, scenarios), encoding="utf-8")


def compare(a, b):
    """Differences between two fixture trees, as relative paths."""
    diffs = []
    cmp = filecmp.dircmp(a, b)

    def walk(c, rel):
        diffs.extend(f"{rel}{n} (only in {c.left})" for n in c.left_only)
        diffs.extend(f"{rel}{n} (only in {c.right})" for n in c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        diffs.extend(f"{rel}{n} differs" for n in mismatch + errors)
        for name, sub in c.subdirs.items():
            walk(sub, f"{rel}{name}/")

    walk(cmp, "")
    return diffs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture directory")
    p.add_argument("--check", action="store_true",
                   help="regenerate into a temporary directory and compare with --out")
    p.add_argument("--reuse-ansible-requests", action="store_true",
                   help="take the Ansible scenarios' request bodies from --out instead of "
                        "running Ansible")
    args = p.parse_args()

    if not args.reuse_ansible_requests:
        problem = _check_ansible()
        if problem:
            print(problem, file=sys.stderr)
            return 2

    fixtures = capture_netapp_lib() + capture_trident()
    replay(fixtures)
    for fx in fixtures:
        status = "passed" if b'status="passed"' in fx.response else "failed"
        print(f"{fx.client}/{fx.name}: {len(fx.request)} -> {len(fx.response)} bytes, {status}")

    scenarios = trident_scenarios()
    for name, what, runs in ANSIBLE_SCENARIOS:
        if args.reuse_ansible_requests:
            scenarios.append(ansible_from_fixtures(name, what, runs, args.out))
        else:
            scenarios.append(capture_ansible_scenario(name, what, runs))
    for sc in scenarios:
        replay_scenario(sc)
        print(f"scenarios/{sc.name}: {len(sc.steps)} steps, "
              + " ".join(outcome(st.response) for st in sc.steps))

    if args.check:
        with tempfile.TemporaryDirectory(prefix="api-fixtures-") as tmp:
            write_all(fixtures, scenarios, Path(tmp))
            if not args.out.is_dir():
                print(f"{args.out} does not exist", file=sys.stderr)
                return 1
            diffs = compare(Path(tmp), args.out)
        if diffs:
            print("api-fixtures are stale (run tests/python/capture_fixtures.py):",
                  *diffs, sep="\n  ", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return report_known_bugs()
    write_all(fixtures, scenarios, args.out)
    print(f"wrote {len(fixtures)} fixture pairs and {len(scenarios)} scenarios "
          f"({sum(len(sc.steps) for sc in scenarios)} steps) to {args.out}")
    return report_known_bugs()


def report_known_bugs():
    """Exit status 3 while a module run is left out for a known simulator bug."""
    if not KNOWN_BUGS:
        return 0
    print(f"{len(KNOWN_BUGS)} module run(s) left out for known simulator bugs:",
          *KNOWN_BUGS, sep="\n  ", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
