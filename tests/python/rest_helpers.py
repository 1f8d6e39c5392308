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


class Sweep:
    """What a test made, removed after it even when it failed: volumes (clones before their
    parents, which takes their snapshots and qtrees along), export policies, and snapshots and
    qtrees added to volumes that existed before the test. Uses the REST front through `conn`."""

    def __init__(self, conn):
        from netapp_ontap.resources import ExportPolicy, Volume

        self.conn = conn
        self.volumes = {v.uuid: v.name for v in Volume.get_collection(connection=conn)}
        self.policies = {p.id for p in ExportPolicy.get_collection(connection=conn)}
        self.children = {u: self._children(u) for u in self.volumes}

    def _children(self, uuid):
        from netapp_ontap.resources import Qtree, Snapshot

        snaps = {s.uuid for s in Snapshot.get_collection(uuid, connection=self.conn)}
        qtrees = {q.id for q in Qtree.get_collection(connection=self.conn, **{"volume.uuid": uuid})
                  if q.name}
        return snaps, qtrees

    def clean(self):
        """Delete what is new; returns the names removed (empty when the test cleaned up)."""
        from netapp_ontap.resources import ExportPolicy, Qtree, Snapshot, Volume

        removed = []
        for uuid in self.volumes:
            now = Volume.find(connection=self.conn, uuid=uuid)
            if now is None:
                continue
            snaps, qtrees = self.children[uuid]
            for s in Snapshot.get_collection(uuid, connection=self.conn):
                if s.uuid not in snaps:
                    Snapshot(uuid, uuid=s.uuid).delete(connection=self.conn)
                    removed.append(f"snapshot {s.name}")
            for q in Qtree.get_collection(connection=self.conn, fields="name",
                                          **{"volume.uuid": uuid}):
                if q.name and q.id not in qtrees:
                    Qtree(volume={"uuid": uuid}, id=q.id).delete(connection=self.conn)
                    removed.append(f"qtree {q.name}")
        # Clones first: a volume with clones cannot be deleted; repeat while that makes progress.
        pending = [v for v in Volume.get_collection(connection=self.conn, fields="clone")
                   if v.uuid not in self.volumes]
        while pending:
            parents = {v.clone.parent_volume.uuid for v in pending
                       if getattr(v, "clone", None) and getattr(v.clone, "parent_volume", None)}
            leaves = [v for v in pending if v.uuid not in parents] or pending
            for v in leaves:
                Volume(uuid=v.uuid).delete(connection=self.conn)
                removed.append(f"volume {v.name}")
            done = {v.uuid for v in leaves}
            pending = [v for v in pending if v.uuid not in done]
        for p in ExportPolicy.get_collection(connection=self.conn, fields="name"):
            if p.id not in self.policies:
                ExportPolicy(id=p.id).delete(connection=self.conn)
                removed.append(f"export policy {p.name}")
        return removed
