// Package harness runs NetApp Trident's ontap-nas driver against ontap-sim.
//
// This file starts and stops the simulator binary that cargo builds; zapi.go is a small ZAPI client
// used to check the simulator's own state independently of Trident.
package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultPassword is the simulator's default password for every configured user.
const DefaultPassword = "netapp1!"

// SimBinary returns the ontap-sim binary: $ONTAP_SIM_BIN, else ../../target/debug/ontap-sim relative
// to this module's directory.
func SimBinary() (string, error) {
	if p := os.Getenv("ONTAP_SIM_BIN"); p != "" {
		return filepath.Abs(p)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the harness source directory")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "target", "debug", "ontap-sim"))
}

// Sim is one running ontap-sim process.
type Sim struct {
	Cmd      *exec.Cmd
	Host     string // 127.0.0.1:PORT, usable as Trident's managementLIF
	AdminURL string // the control API (faults, journal, metrics, switches)
	ZAPIURL  string
	StateDir string // "" with --ephemeral
	NFSAddr  string // the NFS listener, ADDR:PORT ("" when NFS is not served)
	stderr   *lockedBuffer
	done     chan error
}

// SimOptions selects the topology and persistence of a simulator run.
type SimOptions struct {
	Topology string   // TOML text; "" uses the built-in default topology
	StateDir string   // when set, --state-dir DIR (needed for client certificates); else --ephemeral
	Env      []string // extra environment, e.g. RUST_LOG=ontap_sim=debug
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var zapiLine = regexp.MustCompile(`^\s*ZAPI\s+(https://(\S+?)/servlets/netapp\.servlets\.admin\.XMLrequest_filer)\s*$`)

// StartSim starts ontap-sim on free loopback ports and waits for its "ready" line (at most 60 s).
func StartSim(opts SimOptions) (*Sim, error) {
	bin, err := SimBinary()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("ontap-sim binary not found at %s (build it with `cargo build`, or set ONTAP_SIM_BIN): %w", bin, err)
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}
	if opts.StateDir != "" {
		args = append(args, "--state-dir", opts.StateDir)
	} else {
		args = append(args, "--ephemeral")
	}
	if opts.Topology != "" {
		f, err := os.CreateTemp("", "ontap-sim-topology-*.toml")
		if err != nil {
			return nil, err
		}
		if _, err := f.WriteString(opts.Topology); err != nil {
			f.Close()
			return nil, err
		}
		f.Close()
		defer os.Remove(f.Name()) // read at start-up only
		args = append(args, "--config", f.Name())
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Sim{Cmd: cmd, StateDir: opts.StateDir, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { s.done <- cmd.Wait() }()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var banner []string
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				s.Stop()
				return nil, fmt.Errorf("ontap-sim exited before ready; stdout:\n%s\nstderr:\n%s",
					strings.Join(banner, "\n"), s.stderr.String())
			}
			banner = append(banner, line)
			if m := zapiLine.FindStringSubmatch(line); m != nil {
				s.ZAPIURL, s.Host = m[1], m[2]
			}
			if f := strings.Fields(line); len(f) == 2 && f[0] == "admin" {
				s.AdminURL = f[1]
			}
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "NFS" && f[2] == "(NFS" {
				s.NFSAddr = f[1]
			}
			if strings.TrimSpace(line) == "ready" {
				if s.Host == "" {
					s.Stop()
					return nil, fmt.Errorf("ontap-sim banner has no ZAPI line:\n%s", strings.Join(banner, "\n"))
				}
				go func() {
					for range lines {
					}
				}()
				return s, nil
			}
		case <-deadline:
			s.Stop()
			return nil, fmt.Errorf("ontap-sim not ready within 60 s; stdout:\n%s\nstderr:\n%s",
				strings.Join(banner, "\n"), s.stderr.String())
		}
	}
}

// Stderr returns what the simulator logged so far (with RUST_LOG=ontap_sim=debug: every request).
func (s *Sim) Stderr() string { return s.stderr.String() }

// Stop sends SIGTERM, then SIGKILL after 5 s.
func (s *Sim) Stop() {
	if s == nil || s.Cmd.Process == nil {
		return
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
}

// IssueClientCert runs `ontap-sim certs --user USER --state-dir DIR` and returns the three base64
// values it prints (clientCertificate, clientPrivateKey, trustedCACertificate).
func IssueClientCert(stateDir, topology, user string) (cert, key, ca string, err error) {
	bin, err := SimBinary()
	if err != nil {
		return "", "", "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"certs", "--user", user, "--state-dir", stateDir}
	if topology != "" {
		// The user must be one of the topology's: certs refuses unknown users.
		path := filepath.Join(stateDir, "certs-topology.toml")
		if err := os.WriteFile(path, []byte(topology), 0o600); err != nil {
			return "", "", "", err
		}
		args = append(args, "--config", path)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", "", fmt.Errorf("ontap-sim certs: %w: %s", err, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "clientCertificate":
			cert = v
		case "clientPrivateKey":
			key = v
		case "trustedCACertificate":
			ca = v
		}
	}
	if cert == "" || key == "" || ca == "" {
		return "", "", "", fmt.Errorf("ontap-sim certs printed no certificate values:\n%s", out)
	}
	return cert, key, ca, nil
}

// FreeClosedPort returns a loopback address on which nothing listens (bound, then closed).
func FreeClosedPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// APICalls returns the simulator's INFO log lines for calls of api (`api="NAME"`), as logged at the
// default log level: each carries `svm="..."` when tunnelled and `result="passed"` or the failure.
func (s *Sim) APICalls(api string) []string {
	var out []string
	for _, line := range strings.Split(s.Stderr(), "\n") {
		if strings.Contains(line, `api="`+api+`"`) && strings.Contains(line, "zapi result=") {
			out = append(out, line)
		}
	}
	return out
}

// WaitForAPI waits (bounded) until the simulator has logged a passed call of api; it returns the line.
func (s *Sim) WaitForAPI(api string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range s.APICalls(api) {
			if strings.Contains(l, `result="passed"`) {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no passed %s call logged by ontap-sim within %s (calls seen: %q)",
				api, timeout, s.APICalls(api))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
