package harness

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain fails the whole run loudly when the simulator binary is missing: the harness never skips.
func TestMain(m *testing.M) {
	bin, err := SimBinary()
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		os.Stderr.WriteString("FATAL: ontap-sim binary unavailable: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func startSim(t *testing.T, opts SimOptions) *Sim {
	t.Helper()
	s, err := StartSim(opts)
	if err != nil {
		t.Fatalf("start ontap-sim: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ontap-sim stderr (tail):\n%s", tail(s.Stderr(), 8000))
		}
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// The harness's own plumbing: launcher, banner parsing, ZAPI client, and the topologies the Trident
// error paths need, checked through ZAPI.
func TestHarnessSimulatorPlumbing(t *testing.T) {
	s := startSim(t, SimOptions{Topology: Topology([]SVMSpec{
		{Name: "svm1", Aggregates: []string{"aggr1"}, LIFUp: true},
		{Name: "svm2", Aggregates: nil, LIFUp: false},
	}, "")})
	if !strings.HasPrefix(s.Host, "127.0.0.1:") {
		t.Fatalf("management host %q", s.Host)
	}
	z := NewZAPI(s, "admin", DefaultPassword)
	res, err := z.Call("", "<system-get-ontapi-version/>")
	if err != nil {
		t.Fatal(err)
	}
	if res.Get("major-version") != "1" || res.Get("minor-version") != "241" {
		t.Fatalf("ONTAPI %s.%s, want 1.241", res.Get("major-version"), res.Get("minor-version"))
	}
	res, err = z.Call("", E("vserver-get-iter", E("max-records", "100")))
	if err != nil {
		t.Fatal(err)
	}
	aggrs := map[string]int{}
	for _, r := range res.Records() {
		if r.Get("vserver-type") != "data" {
			continue
		}
		aggrs[r.Get("vserver-name")] = len(r.Path("vserver-aggr-info-list").All("vserver-aggr-info"))
	}
	if len(aggrs) != 2 || aggrs["svm1"] != 1 || aggrs["svm2"] != 0 {
		t.Fatalf("data SVMs and their aggregate counts: %v", aggrs)
	}
	res, err = z.Call("svm2", E("net-interface-get-iter", E("max-records", "100")))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Records() {
		if r.Get("operational-status") == "up" {
			t.Fatalf("svm2 LIF %s is up", r.Get("interface-name"))
		}
	}
	// Wrong password: HTTP 401, which Trident turns into "401 (Unauthorized)".
	bad := NewZAPI(s, "admin", "wrong")
	if _, err := bad.Call("", "<system-get-version/>"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("wrong password: %v", err)
	}
	// Calls are observable in the simulator's log at its default level (the EMS heartbeat check).
	if _, err := z.Call("svm1", E("ems-autosupport-log", E("app-version", "1"), E("auto-support", "false"),
		E("category", "heartbeat"), E("computer-name", "harness"), E("event-description", "{}"),
		E("event-id", "1"), E("event-source", "trident"), E("log-level", "5"))); err != nil {
		t.Fatal(err)
	}
	if line, err := s.WaitForAPI("ems-autosupport-log", 5*time.Second); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(line, `svm="svm1"`) {
		t.Fatalf("EMS call not tunnelled to svm1: %s", line)
	}
	// A fresh volume is visible to the checker.
	if _, err := z.Call("svm1", E("volume-create", E("volume", "plumb1"), E("containing-aggr-name", "aggr1"),
		E("size", "104857600"), E("junction-path", "/plumb1"))); err != nil {
		t.Fatal(err)
	}
	v, err := z.Volume("svm1", "plumb1")
	if err != nil || v == nil {
		t.Fatalf("volume plumb1: %v %v", v, err)
	}
	if jp := v.Get("volume-id-attributes/junction-path"); jp != "/plumb1" {
		t.Fatalf("junction path %q", jp)
	}
}

// Trident with trustedCACertificate verifies the server certificate against that CA for the host in
// managementLIF (127.0.0.1 here) and authenticates with the client certificate: check both with Go's
// TLS stack, the one Trident uses.
func TestHarnessClientCertificateTLS(t *testing.T) {
	dir := t.TempDir()
	topology := Topology([]SVMSpec{{Name: "svm1", Aggregates: []string{"aggr1"}, LIFUp: true}}, "trident")
	cert, key, ca, err := IssueClientCert(dir, topology, "trident")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, SimOptions{StateDir: dir, Topology: topology})
	dec := func(v string) []byte {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pair, err := tls.X509KeyPair(dec(cert), dec(key))
	if err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(dec(ca)) {
		t.Fatal("trustedCACertificate is not a PEM CA")
	}
	z := &ZAPI{URL: s.ZAPIURL, HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}}
	// No basic auth at all: the certificate alone must authenticate.
	z.User, z.Password = "", ""
	res, err := z.Call("svm1", "<vserver-get/>")
	if err != nil {
		t.Fatalf("certificate-authenticated, CA-verified vserver-get: %v", err)
	}
	if res.Get("attributes/vserver-info/vserver-name") != "svm1" {
		t.Fatalf("vserver-get: %+v", res)
	}
}
