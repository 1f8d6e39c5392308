"""Pytest fixtures: one `ontap-sim serve` for the whole session, plus client helpers.

* `sim` (session): the simulator started from `topology.toml` with `--listen 127.0.0.1:0` and a
  temporary `--state-dir`. It offers `sim.server(user, vserver=...)`, a netapp-lib `NaServer`, and
  `sim.post(...)` / `sim.connection()`, raw HTTPS that verifies the server against the CA the
  simulator generated in `<state-dir>/certs/ca.pem`.
* An autouse check fails the test during which the simulator died, showing its stderr.
"""

import http.client
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from netapp_lib.api.zapi import zapi

from simproc import PASSWORD, ZAPI_PATH, SimProcess
from zapi_helpers import basic_auth

TOPOLOGY = Path(__file__).resolve().with_name("topology.toml")


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    def results(self):
        """The `<results>` element of a ZAPI reply (lxml), matched by local name."""
        root = etree.fromstring(self.body)
        assert etree.QName(root).localname == "netapp", self.body
        found = [c for c in root if etree.QName(c).localname == "results"]
        assert len(found) == 1, self.body
        return found[0]


class Sim:
    def __init__(self, proc, state_dir):
        self.proc = proc
        self.state_dir = Path(state_dir)
        self.host = proc.host
        self.port = proc.port
        self.ca_path = self.state_dir / "certs" / "ca.pem"
        self.death_reported = False

    # -- netapp-lib ---------------------------------------------------------------------------
    def server(self, user="admin", password=PASSWORD, vserver=None, api_version=(1, 21)):
        """A netapp-lib NaServer for `user`; with `vserver`, calls made with
        `enable_tunneling=True` carry `vfiler="<vserver>"` (netapp-lib needs ONTAPI >= 1.15 set)."""
        s = zapi.NaServer(
            self.host,
            server_type="filer",
            transport_type="https",
            style="basic_auth",
            username=user,
            password=password,
            port=self.port,
        )
        if api_version:
            s.set_api_version(major=api_version[0], minor=api_version[1])
        if vserver:
            s.set_vserver(vserver)
        s.set_timeout(10)
        return s

    def invoke(self, element, user="admin", vserver=None, password=PASSWORD):
        """invoke_successfully as `user`, tunnelled when `vserver` is given."""
        s = self.server(user, password=password, vserver=vserver)
        return s.invoke_successfully(element, enable_tunneling=vserver is not None)

    def zapi_error(self, element, user="admin", vserver=None, password=PASSWORD):
        """Call and return the NaApiError raised (fails the test when the call passed)."""
        with pytest.raises(zapi.NaApiError) as info:
            self.invoke(element, user=user, vserver=vserver, password=password)
        return info.value

    # -- raw HTTPS ----------------------------------------------------------------------------
    def ssl_context(self, verify=True):
        if not verify:
            return ssl._create_unverified_context()
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def connection(self, verify=True, host=None, timeout=10):
        return http.client.HTTPSConnection(
            host or self.host, self.port, context=self.ssl_context(verify), timeout=timeout
        )

    def post(self, body=b"", user="admin", password=PASSWORD, method="POST", path=ZAPI_PATH,
             auth=True, headers=None, verify=True, conn=None):
        """One raw request; returns RawResponse. Reuses `conn` when given (keep-alive)."""
        own = conn is None
        conn = conn or self.connection(verify=verify)
        h = {"Content-Type": "text/xml"}
        if auth:
            h["Authorization"] = basic_auth(user, password)
        h.update(headers or {})
        try:
            conn.request(method, path, body=body if method != "GET" else None, headers=h)
            r = conn.getresponse()
            data = r.read()
            return RawResponse(r.status, r.reason, r.headers, data)
        finally:
            if own:
                conn.close()


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("ontap-sim-state")
    proc = SimProcess(
        [
            "--listen", "127.0.0.1:0",
            "--nfs-listen", "127.0.0.1:0",
            "--state-dir", state_dir,
            "--config", TOPOLOGY,
        ],
        log_path=state_dir / "ontap-sim.stderr.log",
    )
    # netapp-lib opens HTTPS with urllib's default context; accept the self-signed chain the way
    # users (and Ansible with validate_certs=false) do. Raw requests below verify explicitly.
    saved = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    sim_obj = Sim(proc, state_dir)
    try:
        yield sim_obj
    finally:
        ssl._create_default_https_context = saved
        died = proc.proc.poll() is not None
        code = proc.stop()
        if died and not sim_obj.death_reported:
            pytest.fail(
                f"ontap-sim died during the session (exit code {code}); stderr:\n{proc.stderr()}",
                pytrace=False,
            )
        if code != 0:
            pytest.fail(
                f"ontap-sim exited with {code} on SIGTERM; stderr:\n{proc.stderr()}",
                pytrace=False,
            )


@pytest.fixture(autouse=True)
def _sim_still_running(request):
    """Fail the test during which the simulator process died, with its stderr (once); later tests
    fail at once with a short note instead of connection errors."""
    if "sim" not in request.fixturenames:
        yield
        return
    s = request.getfixturevalue("sim")
    if not s.proc.alive():
        pytest.fail(f"ontap-sim is not running (exit code {s.proc.proc.returncode}); "
                    "see the first failure for its stderr", pytrace=False)
    yield
    if not s.proc.alive() and not s.death_reported:
        s.death_reported = True
        pytest.fail(
            f"ontap-sim exited with {s.proc.proc.returncode} during this test; stderr:\n"
            f"{s.proc.stderr()}",
            pytrace=False,
        )
