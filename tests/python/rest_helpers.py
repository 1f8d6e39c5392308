"""Helpers shared by the REST client tests (netapp-ontap, Ansible with the default use_rest, and
the cross-front tests): a simulator whose asynchronous REST verbs take time, and netapp-ontap
connections that verify the simulator's generated CA."""

from pathlib import Path

import marshmallow.fields as mf
from netapp_ontap import HostConnection

from simproc import PASSWORD, SimProcess

TOPOLOGY = Path(__file__).resolve().with_name("topology.toml")


def topology_with_jobs(dest_dir, job_duration_ms):
    """tests/python/topology.toml with `[cluster] job_duration_ms` set, written into `dest_dir`:
    every REST job stays queued, then running, for that long before it ends."""
    text = TOPOLOGY.read_text()
    assert "\n[cluster]\n" in text, f"{TOPOLOGY} has no [cluster] table"
    text = text.replace("\n[cluster]\n", f"\n[cluster]\njob_duration_ms = {job_duration_ms}\n", 1)
    path = Path(dest_dir) / "topology.toml"
    path.write_text(text)
    return path


class RestSim:
    """`ontap-sim serve` on the Python tests' topology with slow jobs, for one test module."""

    def __init__(self, workdir, job_duration_ms):
        workdir = Path(workdir)
        self.state_dir = workdir / "state"
        self.proc = SimProcess(
            ["--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0",
             "--state-dir", self.state_dir, "--config", topology_with_jobs(workdir, job_duration_ms)],
            log_path=workdir / "ontap-sim.stderr.log",
        )
        self.host, self.port = self.proc.host, self.proc.port
        self.ca_path = self.state_dir / "certs" / "ca.pem"

    def stop(self):
        return self.proc.stop()


def connect(sim, user="admin", password=PASSWORD, poll_interval=0.2, poll_timeout=30):
    """A netapp-ontap HostConnection to `sim` (anything with host, port and ca_path) that verifies
    the server against the simulator's CA. The session ignores REQUESTS_CA_BUNDLE and friends
    (requests would let them override the CA given here); jobs are polled every `poll_interval`
    seconds."""
    conn = HostConnection(sim.host, port=sim.port, username=user, password=password,
                          verify=str(sim.ca_path), poll_interval=poll_interval,
                          poll_timeout=poll_timeout)
    conn.session.trust_env = False
    return conn


def unknown_fields(schema, data, path=""):
    """Dotted paths in `data` (a JSON record) that the netapp-ontap marshmallow `schema` does not
    define, descending into nested objects and lists of objects: fields a real ONTAP of the
    library's version never returns."""
    out = []
    known = {f.data_key or name: f for name, f in schema.fields.items()}
    for key, value in data.items():
        field = known.get(key)
        if field is None:
            out.append(path + key)
            continue
        if isinstance(field, mf.List):
            field = field.inner
        if isinstance(field, mf.Nested):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    out += unknown_fields(field.schema, item, f"{path}{key}.")
    return out
