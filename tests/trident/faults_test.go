package harness

// Faults as Go's own HTTP client sees them: the error texts Trident (which uses net/http) reports
// in the field, produced by the simulator's fault rules and listener modes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func admin(t *testing.T, s *Sim, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, s.AdminURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("control API %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("control API %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}

func startFaultSim(t *testing.T) (*Sim, *ZAPI) {
	t.Helper()
	s, err := StartSim(SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if s.AdminURL == "" {
		t.Fatal("the banner has no admin line")
	}
	return s, NewZAPI(s, "admin", "netapp1!")
}

func TestHangGivesContextDeadlineExceeded(t *testing.T) {
	s, z := startFaultSim(t)
	admin(t, s, "POST", "/faults", `{"match":{"api":"vserver-get"},"action":{"type":"hang"}}`)
	// Trident waits 90 s; the same error comes sooner with a shorter deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	body := `<netapp xmlns="http://www.netapp.com/filer/admin" version="1.21" vfiler="svm1"><vserver-get/></netapp>`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, z.URL, strings.NewReader(body))
	req.SetBasicAuth("admin", "netapp1!")
	_, err := z.HTTP.Do(req)
	want := fmt.Sprintf(`Post "%s": context deadline exceeded`, z.URL)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	// Clearing the rules restores service without a restart.
	admin(t, s, "DELETE", "/faults", "")
	if _, err := z.Call("svm1", "<vserver-get/>"); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	if j := admin(t, s, "GET", "/journal?api=vserver-get&result=fault", ""); !strings.Contains(j, `"fault"`) {
		t.Fatalf("the journal does not show the hung call: %s", j)
	}
}

func TestEOFTwiceThenSuccess(t *testing.T) {
	s, z := startFaultSim(t)
	admin(t, s, "POST", "/faults", `{"match":{"api":"system-get-ontapi-version"},"action":{"type":"close"},"fire":{"times":2}}`)
	// Trident retries a call that ends in io.EOF (LimitedRetryTransport); so does this loop.
	var eofs int
	for i := 0; i < 5; i++ {
		_, err := z.Call("svm1", "<system-get-ontapi-version/>")
		if err == nil {
			break
		}
		if !errors.Is(err, io.EOF) || err.Error() != fmt.Sprintf(`Post "%s": EOF`, z.URL) {
			t.Fatalf("attempt %d: got %v, want Post ...: EOF", i, err)
		}
		eofs++
	}
	if eofs != 2 {
		t.Fatalf("%d EOFs before success, want 2", eofs)
	}
}

// switchListener sets the management listener's mode and checks the simulator has it in place.
func switchListener(t *testing.T, s *Sim, mode string) {
	t.Helper()
	var r struct{ Applied bool }
	if err := json.Unmarshal([]byte(admin(t, s, "PUT", "/listeners/management", mode)), &r); err != nil || !r.Applied {
		t.Fatalf("the listener did not switch to %s (%v)", mode, err)
	}
}

func TestListenerModes(t *testing.T) {
	s, z := startFaultSim(t)
	z.HTTP.Transport = &http.Transport{
		TLSClientConfig:   z.HTTP.Transport.(*http.Transport).TLSClientConfig,
		DialContext:       (&net.Dialer{Timeout: time.Second}).DialContext,
		DisableKeepAlives: true,
	}
	switchListener(t, s, "refuse")
	_, err := z.Call("svm1", "<vserver-get/>")
	want := fmt.Sprintf(`Post "%s": dial tcp %s: connect: connection refused`, z.URL, s.Host)
	if err == nil || err.Error() != want {
		t.Fatalf("refuse: got %v, want %s", err, want)
	}
	switchListener(t, s, "blackhole")
	_, err = z.Call("svm1", "<vserver-get/>")
	if err == nil || !strings.Contains(err.Error(), "dial tcp "+s.Host+": i/o timeout") {
		t.Fatalf("blackhole: got %v, want a dial timeout", err)
	}
	admin(t, s, "PUT", "/listeners/management", "normal")
	if _, err := z.Call("svm1", "<vserver-get/>"); err != nil {
		t.Fatalf("back to normal: %v", err)
	}
}

func TestInjectedErrnoAndSwitches(t *testing.T) {
	s, z := startFaultSim(t)
	admin(t, s, "POST", "/faults", `{"match":{"api":"volume-create","svm":"svm1"},"action":{"type":"zapi","errno":13115,"reason":"Invalid volume size"}}`)
	_, err := z.Call("svm1", E("volume-create", E("volume", "v1"), E("containing-aggr-name", "aggr1"), E("size", "1g")))
	var ze *ZapiError
	if !errors.As(err, &ze) || ze.Errno != "13115" || ze.Reason != "Invalid volume size" {
		t.Fatalf("got %v, want the injected errno", err)
	}
	if v, _ := z.Volume("svm1", "v1"); v != nil {
		t.Fatal("a refused create must not create the volume")
	}
	admin(t, s, "POST", "/lif/svm1_data1/down", "")
	r, err := z.Call("svm1", "<net-interface-get-iter/>")
	if err != nil || r.Get("attributes-list/net-interface-info/operational-status") != "down" {
		t.Fatalf("LIF down: %v %v", err, r)
	}
	admin(t, s, "POST", "/svm/svm1/stop", "")
	r, err = z.Call("svm1", "<vserver-get/>")
	if err != nil || r.Get("attributes/vserver-info/state") != "stopped" {
		t.Fatalf("SVM stop: %v", err)
	}
	admin(t, s, "POST", "/reset", "")
	r, _ = z.Call("svm1", "<vserver-get/>")
	if r.Get("attributes/vserver-info/state") != "running" {
		t.Fatal("reset brings the SVM back to its seed state")
	}
}

// A connection closed by a tcp-front rule ends in EOF, the failure Trident retries, not in a reset.
func TestTCPCloseIsEOF(t *testing.T) {
	s, z := startFaultSim(t)
	z.HTTP.Transport = &http.Transport{
		TLSClientConfig:   z.HTTP.Transport.(*http.Transport).TLSClientConfig,
		DisableKeepAlives: true,
	}
	admin(t, s, "POST", "/faults", `{"match":{"front":"tcp"},"action":{"type":"close"},"fire":{"times":5}}`)
	for i := 0; i < 5; i++ {
		_, err := z.Call("svm1", "<system-get-ontapi-version/>")
		if err == nil || !errors.Is(err, io.EOF) {
			t.Fatalf("attempt %d: got %v, want EOF", i, err)
		}
	}
	if _, err := z.Call("svm1", "<system-get-ontapi-version/>"); err != nil {
		t.Fatalf("after the rule's five times: %v", err)
	}
}
