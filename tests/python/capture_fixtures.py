#!/usr/bin/env python3
"""Regenerate api-fixtures/: real client request bodies and the simulator's replies to them.

    .venv/bin/python tests/python/capture_fixtures.py            # rewrite api-fixtures/
    .venv/bin/python tests/python/capture_fixtures.py --check    # exit 1 if api-fixtures/ is stale
    .venv/bin/python tests/python/capture_fixtures.py --out DIR  # write somewhere else

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

The simulator binary is $ONTAP_SIM_BIN or target/debug/ontap-sim.
"""

import argparse
import base64
import filecmp
import http.client
import http.server
import os
import shutil
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

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


def replay(fixtures):
    env = dict(os.environ)
    env.pop("ONTAP_SIM_PASSWORD", None)  # the default password, as the fixtures promise
    with tempfile.TemporaryDirectory(prefix="ontap-sim-capture-") as tmp:
        sim = SimProcess(["--ephemeral", "--listen", "127.0.0.1:0"],
                         log_path=Path(tmp) / "stderr.log", env=env)
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
# Output


def readme(fixtures):
    rows = []
    for fx in fixtures:
        tunnel = f'`vfiler="{fx.vfiler}"`' if fx.vfiler else "none"
        rows.append(f"| `{fx.client}/{fx.name}` | `{fx.api}` | {tunnel} | {fx.what} |")
    table = "\n".join(rows)
    return f"""# api-fixtures

Real ZAPI request bodies from client libraries, each paired with the reply `ontap-sim` gives to it.
Generated by `tests/python/capture_fixtures.py`; do not edit by hand. Regenerate after a change to
the simulator's replies and review the diff:

    python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt
    cargo build
    .venv/bin/python tests/python/capture_fixtures.py          # rewrites this directory
    .venv/bin/python tests/python/capture_fixtures.py --check  # exits 1 if it is stale

## Layout

    api-fixtures/<client>/<name>.request.xml    the exact HTTP request body the client sends
    api-fixtures/<client>/<name>.response.xml   the exact HTTP response body ontap-sim returns

`<client>` is `netapp-lib` or `trident`. Both files are raw bytes: no added or stripped trailing
newline, no re-indentation. A replayer enumerates `*/*.request.xml` and pairs each with the
`.response.xml` of the same stem; this README is not a fixture.

## Replay contract

Each pair replays byte for byte, independently and in any order, against one simulator started as

    ontap-sim serve --ephemeral --listen 127.0.0.1:0

(the built-in default topology, no `--config`; cluster `cluster1`, ONTAP 9.14.1, ONTAPI 1.241,
node `cluster1-01`, aggregate `aggr1`, SVM `svm1`; `ONTAP_SIM_PASSWORD` unset):

- `POST /servlets/netapp.servlets.admin.XMLrequest_filer` over HTTPS with the body of
  `<name>.request.xml` and `Authorization: Basic` for user `admin`, password `netapp1!`
  (preemptively; the 401 challenge netapp-lib goes through does not change the body);
- the reply is HTTP 200 and its body equals `<name>.response.xml` byte for byte.

Replies depend only on the topology's seed (UUIDs and serial numbers are derived from it), never on
the listen port, the time or the order of requests; the capture script checks this by posting every
request twice (second round in reverse order) and by being run twice with identical output.
`Content-Type` is `text/xml` from netapp-lib and `application/xml` from Trident; the simulator
ignores it.

## How each was captured

- **netapp-lib** (`netapp-lib==2021.6.25`, pinned in `tests/python/requirements.txt`): the call is
  made with `netapp_lib.api.zapi.zapi.NaServer` (`style="basic_auth"`) against a small plain-HTTP
  capture server inside the script, which answers the first POST with a 401 Basic challenge as the
  simulator does, and the body of the authenticated retry is saved (the two bodies are checked to be
  identical). netapp-lib sends no XML declaration and no whitespace, and adds `version` only after
  `set_api_version` and `vfiler` only when tunnelling.
- **trident**: written by the script in the shape `shared/spec/trident-zapi.md` section 1.1
  describes for Trident's ZAPI runner: `<?xml version="1.0" encoding="UTF-8"?>`, a `<netapp>` root
  with `xmlns`, `version="1.21"` and `vfiler="svm1"` when tunnelled, and the API element laid out
  like Go `xml.MarshalIndent` with prefix `" "` and indent `"    "` (children in Go struct order,
  empty elements as `<x></x>`, Go's text escaping). Inputs follow section 2.2 of that file, backend
  `svm` = `svm1`. The heartbeat's `event-description` JSON and `computer-name` are illustrative.

| fixture | API | tunnel | request |
|---|---|---|---|
{table}
"""


def write_all(fixtures, out):
    out.mkdir(parents=True, exist_ok=True)
    for client in sorted({fx.client for fx in fixtures}):
        d = out / client
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
    for fx in fixtures:
        (out / fx.client / f"{fx.name}.request.xml").write_bytes(fx.request)
        (out / fx.client / f"{fx.name}.response.xml").write_bytes(fx.response)
    (out / "README.md").write_text(readme(fixtures), encoding="utf-8")


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
    args = p.parse_args()

    fixtures = capture_netapp_lib() + capture_trident()
    replay(fixtures)
    for fx in fixtures:
        status = "passed" if b'status="passed"' in fx.response else "failed"
        print(f"{fx.client}/{fx.name}: {len(fx.request)} -> {len(fx.response)} bytes, {status}")

    if args.check:
        with tempfile.TemporaryDirectory(prefix="api-fixtures-") as tmp:
            write_all(fixtures, Path(tmp))
            if not args.out.is_dir():
                print(f"{args.out} does not exist", file=sys.stderr)
                return 1
            diffs = compare(Path(tmp), args.out)
        if diffs:
            print("api-fixtures are stale (run tests/python/capture_fixtures.py):",
                  *diffs, sep="\n  ", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    write_all(fixtures, args.out)
    print(f"wrote {len(fixtures)} fixture pairs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
