package harness

// The lab kit as Trident sees it: `ontap-sim backend-json` prints a backend config for the lab
// topology (the ConfigMap in deploy/kubernetes), and a client built from exactly those fields, the
// way Trident's ZAPI runner builds one, signs in, reaches the SVM by vfiler tunnelling and finds
// the data LIF; then the failure rehearsal of docs/lab.md, run with the same CLI commands,
// gives the error text the docs quote.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The managementLIF the lab's backends use (deploy/kubernetes/backend/20-tridentbackendconfig.yaml).
const labManagementLIF = "ontap-sim.ontap-sim.svc.cluster.local:443"

const labPassword = "lab-password-from-the-secret"

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// labTopology returns the topology.toml of the lab's ConfigMap (a YAML block scalar).
func labTopology(t *testing.T) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "deploy", "kubernetes", "ontap-sim", "20-topology.yaml")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	indent := -1
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !in {
			if strings.TrimSpace(line) == "topology.toml: |" {
				in = true
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			out = append(out, "")
			continue
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if indent < 0 {
			indent = n
		}
		if n < indent {
			break
		}
		out = append(out, line[indent:])
	}
	if len(out) == 0 {
		t.Fatalf("no topology.toml block in %s", path)
	}
	return strings.Join(out, "\n") + "\n"
}

// Backend is a Trident backend config as backend-json prints it.
type Backend map[string]any

func (b Backend) S(k string) string {
	v, _ := b[k].(string)
	return v
}

// backendJSON runs `ontap-sim backend-json ARGS` with the lab's password in the environment.
func backendJSON(t *testing.T, args ...string) Backend {
	t.Helper()
	bin, err := SimBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"backend-json"}, args...)...)
	cmd.Env = append(os.Environ(), "ONTAP_SIM_PASSWORD="+labPassword)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ontap-sim backend-json %v: %v\n%s", args, err, stderr.String())
	}
	var b Backend
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("backend-json printed no JSON object: %v\n%s", err, out)
	}
	return b
}

// simCLI runs an ontap-sim control command (as docs/lab.md writes it) against the simulator.
func simCLI(t *testing.T, s *Sim, args ...string) {
	t.Helper()
	bin, err := SimBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ONTAP_SIM_ADMIN="+s.AdminURL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ontap-sim %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// tridentClient builds the HTTP client and URL the way Trident's ZAPI runner does from a backend
// config: TLS verification only with trustedCACertificate, the client certificate when both it
// and the key are given (and then no Basic auth), no dial timeout of its own.
func tridentClient(t *testing.T, b Backend) *ZAPI {
	t.Helper()
	if b.S("username") != "" && b.S("clientPrivateKey") != "" {
		t.Fatalf("Trident refuses a config with more than one authentication method: %v", b)
	}
	dec := func(k string) []byte {
		v, err := base64.StdEncoding.DecodeString(b.S(k))
		if err != nil {
			t.Fatalf("%s is not base64: %v", k, err)
		}
		return v
	}
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
	z := &ZAPI{URL: "https://" + b.S("managementLIF") + "/servlets/netapp.servlets.admin.XMLrequest_filer"}
	if b.S("clientCertificate") != "" && b.S("clientPrivateKey") != "" {
		pair, err := tls.X509KeyPair(dec("clientCertificate"), dec("clientPrivateKey"))
		if err != nil {
			t.Fatalf("cannot load certificate and key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	} else {
		z.User, z.Password = b.S("username"), b.S("password")
	}
	if b.S("trustedCACertificate") != "" {
		if !cfg.RootCAs.AppendCertsFromPEM(dec("trustedCACertificate")) {
			t.Fatal("trustedCACertificate holds no PEM certificate")
		}
		cfg.InsecureSkipVerify = false
	}
	z.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	return z
}

// mountOptions parses nfsMountOptions into a map (flags map to "").
func mountOptions(s string) map[string]string {
	m := map[string]string{}
	for _, o := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(o, "=")
		m[k] = v
	}
	return m
}

// checkBackend connects with exactly the printed fields, as Trident's driver initialisation does.
func checkBackend(t *testing.T, s *Sim, b Backend) {
	t.Helper()
	if b["version"] != float64(1) || b.S("storageDriverName") != "ontap-nas" {
		t.Fatalf("not an ontap-nas backend config: %v", b)
	}
	z := tridentClient(t, b)
	svm := b.S("svm")
	res, err := z.Call(svm, "<vserver-get/>")
	if err != nil {
		t.Fatalf("vserver-get tunnelled to %s with the printed credentials: %v", svm, err)
	}
	if got := res.Get("attributes/vserver-info/vserver-name"); got != svm {
		t.Fatalf("vserver-get names %q, want %q", got, svm)
	}
	if st := res.Get("attributes/vserver-info/state"); st != "running" {
		t.Fatalf("SVM state %q", st)
	}
	res, err = z.Call(svm, "<system-get-ontapi-version/>")
	if err != nil {
		t.Fatal(err)
	}
	if minor, _ := strconv.Atoi(res.Get("minor-version")); res.Get("major-version") != "1" || minor < 150 {
		t.Fatalf("ONTAPI %s.%s: Trident needs 1.150 or later", res.Get("major-version"), res.Get("minor-version"))
	}
	res, err = z.Call(svm, E("vserver-get-iter", E("max-records", "100"),
		E("query", E("vserver-info", E("vserver-name", svm)))))
	if err != nil {
		t.Fatal(err)
	}
	if recs := res.Records(); len(recs) != 1 || len(recs[0].Path("vserver-aggr-info-list").All("vserver-aggr-info")) == 0 {
		t.Fatalf("SVM %s has no assigned aggregate: %+v", svm, recs)
	}
	// dataLIF must be the address of one of the SVM's NFS LIFs that are up.
	res, err = z.Call(svm, E("net-interface-get-iter", E("max-records", "100"),
		E("query", "<net-interface-info></net-interface-info>")))
	if err != nil {
		t.Fatal(err)
	}
	var lifs []string
	found := false
	for _, r := range res.Records() {
		nfs := false
		for _, p := range r.Path("data-protocols").All("data-protocol") {
			nfs = nfs || strings.TrimSpace(p.Text) == "nfs"
		}
		if r.Get("operational-status") == "up" && nfs {
			lifs = append(lifs, r.Get("address"))
			found = found || r.Get("address") == b.S("dataLIF")
		}
	}
	if !found {
		t.Fatalf("dataLIF %q is not an NFS data LIF of %s that is up (%v)", b.S("dataLIF"), svm, lifs)
	}
	// The mount options reach the NFS listener: NFSv3 over TCP, MOUNT on the same port, no NLM.
	o := mountOptions(b.S("nfsMountOptions"))
	_, nfsPort, _ := net.SplitHostPort(s.NFSAddr)
	for k, want := range map[string]string{"nfsvers": "3", "proto": "tcp", "mountproto": "tcp",
		"port": nfsPort, "mountport": nfsPort, "nolock": ""} {
		if got, ok := o[k]; !ok || got != want {
			t.Fatalf("nfsMountOptions %q: %s=%q, want %q", b.S("nfsMountOptions"), k, got, want)
		}
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(b.S("dataLIF"), o["port"]), 5*time.Second)
	if err != nil {
		t.Fatalf("NFS at dataLIF:port: %v", err)
	}
	c.Close()
}

func startLabSim(t *testing.T) (*Sim, string, string) {
	t.Helper()
	dir := t.TempDir()
	topo := filepath.Join(dir, "topology.toml")
	text := labTopology(t)
	if err := os.WriteFile(topo, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	s := startSim(t, SimOptions{Topology: text, StateDir: state, Env: []string{"ONTAP_SIM_PASSWORD=" + labPassword}})
	if s.NFSAddr == "" {
		t.Fatal("the banner has no NFS line")
	}
	return s, topo, state
}

func TestBackendJSONDrivesTheHarness(t *testing.T) {
	s, topo, state := startLabSim(t)
	common := []string{"--config", topo, "--state-dir", state, "--management-lif", s.Host,
		"--nfs-listen", s.NFSAddr}

	// Password (the lab's TridentBackendConfig): vsadmin, its password from the environment.
	b := backendJSON(t, common...)
	if b.S("username") != "vsadmin" || b.S("password") != labPassword || b.S("svm") != "svm1" {
		t.Fatalf("password backend: %v", b)
	}
	if b.S("managementLIF") != s.Host {
		t.Fatalf("managementLIF %q, want %q", b.S("managementLIF"), s.Host)
	}
	checkBackend(t, s, b)

	// Client certificate (the topology's `trident` user signs in by certificate only), verified
	// against trustedCACertificate for the host in managementLIF.
	b = backendJSON(t, append(common, "--user", "trident")...)
	if b.S("clientCertificate") == "" || b.S("trustedCACertificate") == "" || b.S("password") != "" {
		t.Fatalf("certificate backend: %v", b)
	}
	checkBackend(t, s, b)

	// Password with the server certificate verified.
	b = backendJSON(t, append(common, "--trusted-ca")...)
	if b.S("trustedCACertificate") == "" || b.S("username") != "vsadmin" {
		t.Fatalf("password + CA backend: %v", b)
	}
	checkBackend(t, s, b)

	// A wrong password gets what Trident reports as "401 (Unauthorized)".
	b["password"] = "wrong"
	if _, err := tridentClient(t, b).Call("svm1", "<vserver-get/>"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("wrong password: %v", err)
	}
}

// tridentVserverGet is Trident's first ZAPI call on a new backend, on a new transport (a new
// backend has a runner of its own), under a deadline (Trident's is 90 s).
func tridentVserverGet(t *testing.T, b Backend, deadline time.Duration) error {
	t.Helper()
	z := tridentClient(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	body := `<?xml version="1.0" encoding="UTF-8"?>` +
		`<netapp xmlns="http://www.netapp.com/filer/admin" version="1.21" vfiler="` + b.S("svm") + `"><vserver-get></vserver-get></netapp>`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, z.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(z.User, z.Password)
	resp, err := z.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b2, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b2), `status="passed"`) {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b2)
	}
	return nil
}

// The docs' quoted Trident error, checked against what Go's HTTP client (Trident's) produces.
func docLines(t *testing.T, marker string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range []string{"lab.md", "lab.ja.md"} {
		text, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(text), "\n") {
			if i := strings.Index(line, marker); i >= 0 {
				out[name] = append(out[name], strings.TrimSpace(line[i:]))
			}
		}
		if len(out[name]) == 0 {
			t.Fatalf("docs/%s quotes no %q line", name, marker)
		}
	}
	return out
}

func TestLabRehearsalTimeoutsAsTridentSeesThem(t *testing.T) {
	s, topo, state := startLabSim(t)
	b := backendJSON(t, "--config", topo, "--state-dir", state, "--management-lif", s.Host,
		"--nfs-listen", s.NFSAddr)
	if err := tridentVserverGet(t, b, 30*time.Second); err != nil {
		t.Fatalf("before the rehearsal: %v", err)
	}
	// What Trident logs: "error reading SVM details: " and the transport error.
	want := fmt.Sprintf(`error reading SVM details: Post "https://%s/servlets/netapp.servlets.admin.XMLrequest_filer": context deadline exceeded`, s.Host)
	check := func(step string) {
		t.Helper()
		err := tridentVserverGet(t, b, 1500*time.Millisecond)
		if err == nil {
			t.Fatalf("%s: vserver-get passed", step)
		}
		if got := "error reading SVM details: " + err.Error(); got != want {
			t.Fatalf("%s:\n got %s\nwant %s", step, got, want)
		}
	}

	// The management LIF answers nothing to vserver-get.
	simCLI(t, s, "fault", "add", "--api", "vserver-get", "--action", "hang")
	check("fault add --api vserver-get --action hang")
	simCLI(t, s, "fault", "clear")
	if err := tridentVserverGet(t, b, 30*time.Second); err != nil {
		t.Fatalf("after fault clear: %v", err)
	}

	// The management LIF drops new connections: Trident's transport has no dial timeout of its
	// own, so its 90 s deadline ends the call with the same text.
	simCLI(t, s, "listener", "management", "blackhole")
	check("listener management blackhole")
	simCLI(t, s, "listener", "management", "normal")
	if err := tridentVserverGet(t, b, 30*time.Second); err != nil {
		t.Fatalf("after listener management normal: %v", err)
	}

	// The docs quote this line with the lab's managementLIF.
	quoted := strings.Replace(want, s.Host, labManagementLIF, 1)
	for name, lines := range docLines(t, `error reading SVM details: Post "https://`) {
		for _, l := range lines {
			if !strings.HasPrefix(l, quoted) {
				t.Errorf("docs/%s quotes\n  %s\nGo's HTTP client gives\n  %s", name, l, quoted)
			}
		}
	}
}
