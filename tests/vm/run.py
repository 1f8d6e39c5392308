#!/usr/bin/env python3
"""Run the kernel-client scenario: start the simulator on loopback (portmapper on port 111), make
the volumes the guest uses over ZAPI, boot the QEMU guest built by build.sh, answer the guest's
`@@HOST` requests (snapshots, export rules, offline, checks against the server's data), and turn
its `PASS`/`FAIL` lines into the result. Any FAIL, a guest that does not finish, or no checks at all
fails the run and prints the console's tail.

    tests/vm/run.py --bin target/debug/ontap-sim --guest target/vm [--data-mb 16] [--timeout 900]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

ZAPI_PATH = "/servlets/netapp.servlets.admin.XMLrequest_filer"
# The NLM grace period after the scenario's restart of the simulator (short: the guest's
# non-reclaim lock calls wait it out).
GRACE_SECS = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sim:
    def __init__(self, binary, state, lockd_fwd, ports=None):
        self.binary, self.lockd_fwd = binary, lockd_fwd
        self.mgmt, self.nfs, self.admin = ports or (free_port(), free_port(), free_port())
        self.state = state
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.mgmt}",
             "--nfs-listen", f"127.0.0.1:{self.nfs}", "--portmap-listen", "127.0.0.1:111",
             "--admin-listen", f"127.0.0.1:{self.admin}", "--state-dir", state,
             "--nlm-client-portmap", str(lockd_fwd), "--nlm-grace-secs", str(GRACE_SECS)],
            stdout=subprocess.PIPE, stderr=open(os.path.join(state + ".log"), "a"),
            env={**os.environ, "RUST_LOG": "info"})
        deadline = time.time() + 30
        ready, out = False, b""
        fd = self.proc.stdout.fileno()
        while not ready and time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 1.0)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                out += chunk
                ready = b"\nready\n" in b"\n" + out
        if not ready:
            self.proc.kill()
            raise SystemExit("ontap-sim did not start (is port 111 free? see %s.log)" % state)
        self.ctx = ssl.create_default_context(cafile=os.path.join(state, "certs", "ca.pem"))
        self.ctx.check_hostname = False

    def zapi(self, body, vfiler="svm1"):
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.mgmt}{ZAPI_PATH}",
            data=(f'<netapp xmlns="http://www.netapp.com/filer/admin" version="1.21" '
                  f'vfiler="{vfiler}">{body}</netapp>').encode(),
            headers={"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode(),
                     "Content-Type": "text/xml"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            text = r.read().decode()
        m = re.search(r'<results[^>]*status="(\w+)"', text)
        if not m or m.group(1) != "passed":
            reason = re.search(r'reason="([^"]*)"', text)
            raise RuntimeError(reason.group(1) if reason else text[:300])
        return text

    def control(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}{path}", timeout=30) as r:
            return json.loads(r.read())

    def volume(self, name, size, policy="default"):
        self.zapi(f"<volume-create><volume>{name}</volume><containing-aggr-name>aggr1"
                  f"</containing-aggr-name><size>{size}</size><junction-path>/{name}"
                  f"</junction-path><export-policy>{policy}</export-policy>"
                  f"<unix-permissions>0777</unix-permissions></volume-create>")

    def attr(self, volume, tag):
        text = self.zapi(f"<volume-get-iter><query><volume-attributes><volume-id-attributes>"
                         f"<name>{volume}</name></volume-id-attributes></volume-attributes>"
                         f"</query></volume-get-iter>")
        m = re.search(f"<{tag}>([^<]*)</{tag}>", text)
        return m.group(1) if m else None

    def restart(self):
        """Stop (SIGTERM) and start again on the same state dir and ports."""
        self.stop()
        return Sim(self.binary, self.state, self.lockd_fwd, (self.mgmt, self.nfs, self.admin))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def setup(sim):
    sim.volume("vol1", "1g")
    sim.volume("small", "20m")
    sim.zapi("<export-policy-create><policy-name>squash</policy-name></export-policy-create>")
    sim.zapi("<export-rule-create><policy-name>squash</policy-name><client-match>0.0.0.0/0"
             "</client-match><ro-rule><security-flavor>any</security-flavor></ro-rule><rw-rule>"
             "<security-flavor>any</security-flavor></rw-rule><super-user-security>"
             "<security-flavor>none</security-flavor></super-user-security></export-rule-create>")
    sim.volume("squashed", "100m", "squash")


def answer(box, words):
    """Carry out one @@HOST request; (ok, text). `box["sim"]` is the simulator (a restart
    replaces it)."""
    sim = box["sim"]
    verb, args = words[0], words[1:]
    if verb == "restart":
        box["sim"] = sim.restart()
        return True, ""
    if verb == "df":
        vol, total_k, used_k = args[0], int(args[1]), int(args[2])
        total = int(sim.attr(vol, "size-total"))
        used = int(sim.attr(vol, "size-used"))
        # The client rounds FSSTAT's byte counts up to its block size (its wsize, 1 MiB).
        mib = 1024 * 1024
        if abs(total_k * 1024 - total) >= mib or abs(used_k * 1024 - used) >= mib:
            return False, f"df says {total_k} KiB total, {used_k} used; ONTAP {total} B, {used} B"
        return True, f"{total} {used}"
    if verb == "sha":
        vol, path, want = args
        uuid = sim.attr(vol, "instance-uuid")
        p = os.path.join(sim.state, "volumes", uuid, "data", path)
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return (h.hexdigest() == want), h.hexdigest()
    if verb in ("snapshot-create", "snapshot-delete"):
        sim.zapi(f"<{verb}><volume>{args[0]}</volume><snapshot>{args[1]}</snapshot></{verb}>")
        return True, ""
    if verb == "snapshot-restore":
        sim.zapi(f"<snapshot-restore-volume><volume>{args[0]}</volume><snapshot>{args[1]}"
                 f"</snapshot></snapshot-restore-volume>")
        return True, ""
    if verb in ("rule-deny", "rule-allow"):
        client = "192.0.2.1" if verb == "rule-deny" else "0.0.0.0/0"
        sim.zapi(f"<export-rule-modify><policy-name>default</policy-name><rule-index>1"
                 f"</rule-index><client-match>{client}</client-match></export-rule-modify>")
        return True, ""
    if verb == "user-quota":
        # A user rule of `kib` KiB for `uid` on the whole volume, in force (quota-on runs a job).
        vol, uid, kib = args
        sim.zapi(f"<quota-set-entry><disk-limit>{kib}</disk-limit><qtree></qtree><quota-target>"
                 f"{uid}</quota-target><quota-type>user</quota-type><volume>{vol}</volume>"
                 f"</quota-set-entry>")
        sim.zapi(f"<quota-on><volume>{vol}</volume></quota-on>")
        deadline = time.time() + 30
        while "<status>on</status>" not in sim.zapi(
                f"<quota-status><volume>{vol}</volume></quota-status>"):
            if time.time() > deadline:
                return False, "quotas did not come on"
            time.sleep(0.1)
        return True, ""
    if verb == "quota-off":
        sim.zapi(f"<quota-off><volume>{args[0]}</volume></quota-off>")
        return True, ""
    if verb == "offline":
        sim.zapi(f"<volume-offline><name>{args[0]}</name></volume-offline>")
        return True, ""
    if verb == "online":
        sim.zapi(f"<volume-online><name>{args[0]}</name></volume-online>")
        sim.zapi(f"<volume-mount><volume-name>{args[0]}</volume-name><junction-path>/{args[0]}"
                 f"</junction-path></volume-mount>")
        return True, ""
    if verb == "journal":
        # Each argument API=RESULT must be in the journal (callbacks come a moment later: poll).
        deadline = time.time() + 10
        while True:
            entries = sim.control("/journal?limit=100000")
            seen = {(e.get("api"), e.get("result")) for e in entries}
            missing = [w for w in args if tuple(w.split("=", 1)) not in seen]
            if not missing or time.time() > deadline:
                return not missing, "missing " + " ".join(missing) if missing else "all seen"
            time.sleep(0.2)
    if verb == "locks":
        want = int(args[0])
        deadline = time.time() + 30
        while True:
            n = len(sim.control("/locks")["locks"])
            if n == want or time.time() > deadline:
                return n == want, f"{n} locks"
            time.sleep(0.2)
    return False, f"unknown request {verb}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--guest", required=True)
    ap.add_argument("--data-mb", type=int, default=16)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--keep", action="store_true", help="keep the state dir and console log")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="ontap-sim-vm-")
    state = os.path.join(work, "state")
    lockd = free_port()        # the guest's lockd, forwarded from this host port
    client_pm = free_port()    # the guest's rpcbind, forwarded from this host port
    statd = free_port()        # the guest's rpc.statd, forwarded (restart notices reach it)
    box = {"sim": Sim(a.bin, state, client_pm)}
    sim = box["sim"]
    console = []
    started = time.time()
    passed, failed, figures = [], [], {}
    qemu = None
    try:
        setup(sim)
        cmdline = (f"console=ttyS0 panic=-1 quiet nfsport={sim.nfs} datamb={a.data_mb} "
                   f"lockdport={lockd} statdport={statd}")
        qemu = subprocess.Popen(
            ["qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2", "-display", "none",
             "-monitor", "none", "-serial", "stdio", "-no-reboot",
             "-kernel", os.path.join(a.guest, "vmlinuz"),
             "-initrd", os.path.join(a.guest, "initramfs.cpio.gz"), "-append", cmdline,
             "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{client_pm}-:111,"
                        f"hostfwd=tcp:127.0.0.1:{lockd}-:{lockd},"
                        f"hostfwd=tcp:127.0.0.1:{statd}-:{statd}",
             "-device", "virtio-net-pci,netdev=n0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        buf = b""
        ended = False
        booted_at = None
        deadline = started + a.timeout
        while time.time() < deadline:
            r, _, _ = select.select([qemu.stdout], [], [], 1.0)
            if not r:
                if qemu.poll() is not None:
                    break
                continue
            chunk = os.read(qemu.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").rstrip("\r")
                console.append(line)
                print(f"  guest| {line}", flush=True)
                if line.startswith("@@BEGIN"):
                    booted_at = time.time()
                elif line.startswith("@@HOST "):
                    try:
                        ok, text = answer(box, line.split()[1:])
                    except Exception as e:  # a refused ZAPI call: the guest's check fails
                        ok, text = False, str(e)
                    text = text.replace("\n", " ")
                    qemu.stdin.write(f"{'@@OK' if ok else '@@ERR'} {text}\n".encode())
                    qemu.stdin.flush()
                elif line.startswith("PASS "):
                    passed.append(line[5:])
                elif line.startswith("FAIL "):
                    failed.append(line[5:])
                elif line.startswith("FIGURE "):
                    parts = line.split()
                    if len(parts) >= 3:
                        figures[parts[1]] = parts[2]
                elif line.startswith("@@END"):
                    ended = True
        if qemu.poll() is None:
            try:
                qemu.wait(30 if ended else 0.1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        if qemu and qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        sim = box["sim"]
        try:
            calls = {}
            for e in sim.control("/journal?limit=1000000"):
                api = e.get("api", "")
                if api.startswith(("NLM", "SM_", "RPCBIND", "PORTMAP", "program")):
                    k = f"{api} {e.get('result')}"
                    calls[k] = calls.get(k, 0) + 1
        except Exception as e:  # the journal is a report, not a check
            calls = {f"(journal unreadable: {e})": 0}
        sim.stop()
    wall = time.time() - started
    boot = (booted_at - started) if booted_at else None
    print(f"\nkernel client (QEMU TCG): {len(passed)} passed, {len(failed)} failed, "
          f"{wall:.0f} s wall" + (f" (boot {boot:.1f} s)" if boot else ""))
    for k, v in figures.items():
        print(f"  {k} = {v}")
    print("lock and portmapper calls the simulator journaled:")
    for k in sorted(calls):
        print(f"  {calls[k]:6d}  {k}")
    for f in failed:
        print(f"  FAIL {f}")
    problem = None
    if failed:
        problem = f"{len(failed)} guest checks failed"
    elif not ended:
        problem = "the guest did not finish the scenario"
    elif not passed:
        problem = "the guest reported no checks"
    if problem:
        print(f"\n{problem}; console tail:")
        for line in console[-60:]:
            print(f"  | {line}")
        print(f"(simulator log: {state}.log)")
        sys.exit(1)
    if not a.keep:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
