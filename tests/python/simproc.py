"""Start and stop an `ontap-sim serve` process for the Python tests and the fixture capture script.

The simulator prints a banner on stdout; the `ZAPI` line carries the real bound address and the last
line is `ready`. Logs go to stderr, which is kept in a file so it can be shown when the process dies.
"""

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ZAPI_PATH = "/servlets/netapp.servlets.admin.XMLrequest_filer"
PASSWORD = "netapp1!"

_ZAPI_LINE = re.compile(r"^\s*ZAPI\s+https://(?P<host>\[[^\]]+\]|[^/:]+):(?P<port>\d+)(?P<path>/\S*)\s*$")


def sim_binary():
    """The simulator binary: $ONTAP_SIM_BIN, else target/debug/ontap-sim under the repo root."""
    configured = os.environ.get("ONTAP_SIM_BIN")
    path = Path(configured) if configured else REPO_ROOT / "target" / "debug" / "ontap-sim"
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        raise RuntimeError(
            f"ontap-sim binary not found at {path}: run `cargo build` in {REPO_ROOT} "
            "or set ONTAP_SIM_BIN"
        )
    return path


class SimProcess:
    """One running `ontap-sim serve`."""

    def __init__(self, args, log_path, start_timeout=30.0, env=None):
        args = [str(a) for a in args]
        # A free control-API port unless the test picks one: the default port is refused when
        # taken, and tests run several simulators at once.
        if not any(a == "--admin-listen" or a.startswith("--admin-listen=") for a in args):
            args += ["--admin-listen", "127.0.0.1:0"]
        self.args = [str(sim_binary()), "serve", *args]
        self.log_path = Path(log_path)
        self.banner = []
        self.host = None
        self.port = None
        self.path = None
        self._ready = threading.Event()
        self._saw_ready = False
        self._log = open(self.log_path, "wb")
        child_env = dict(os.environ if env is None else env)
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=child_env,
            cwd=REPO_ROOT,
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        if not (self._ready.wait(start_timeout) and self._saw_ready):
            # Give an exiting process a moment so its exit code can be reported.
            try:
                self.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass
            alive = self.proc.poll() is None
            self.stop()
            state = "did not print `ready`" if alive else f"exited with {self.proc.returncode}"
            raise RuntimeError(
                f"ontap-sim {state} within {start_timeout:.0f} s\n"
                f"command: {' '.join(self.args)}\n"
                f"stdout so far:\n{''.join(self.banner)}\n"
                f"stderr:\n{self.stderr()}"
            )
        if self.port is None:
            self.stop()
            raise RuntimeError(
                "ontap-sim printed `ready` but no `ZAPI https://HOST:PORT/...` line\n"
                f"stdout:\n{''.join(self.banner)}"
            )

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if not self._ready.is_set():
                self.banner.append(line)
                m = _ZAPI_LINE.match(line)
                if m:
                    self.host = m.group("host").strip("[]")
                    self.port = int(m.group("port"))
                    self.path = m.group("path")
                if line.strip() == "ready":
                    self._saw_ready = True
                    self._ready.set()
        # EOF: the process closed stdout (normally because it exited).
        self._ready.set()

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        if not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError as e:
            return f"(cannot read {self.log_path}: {e})"

    def stop(self, timeout=10.0):
        """SIGTERM, wait, SIGKILL if it hangs; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._reader.join(timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode
