package harness

// The Trident path of the benchmark (examples/bench.rs): the ZAPI call sequence of Trident's
// ontap-nas driver for create, snapshot, clone and delete (as ../shared/spec/trident-zapi.md §3
// lists it, with the driver's defaults and no CSI context), for 50 volumes, sent by Go's net/http
// over TLS with keep-alive (the client stack Trident uses). It is not the Trident binary: the Go
// module proxy refuses github.com/netapp/trident. The wall time of the cycle is set beside the
// time the simulator spent on those calls, from the latencies in its request journal.
//
// Skipped unless ONTAP_SIM_CYCLE_JSON names the file to write the figures to, so `go test` in CI
// does not pay for it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"
)

const cycleVolumes = 50

// cycle sends Trident's calls and counts them; a result Trident would not accept fails the test.
type cycle struct {
	t     *testing.T
	z     *ZAPI
	svm   string
	calls int
}

// call sends one tunnelled API; ok lists the errnos Trident accepts for it besides "passed".
func (c *cycle) call(api string, ok ...string) *Node {
	c.t.Helper()
	c.calls++
	res, err := c.z.Call(c.svm, api)
	if ze, isZ := err.(*ZapiError); isZ {
		for _, e := range ok {
			if ze.Errno == e {
				return res
			}
		}
	}
	if err != nil {
		c.t.Fatalf("%.60s...: %v", api, err)
	}
	return res
}

// absent is the volume-size existence probe, answered "does not exist".
func (c *cycle) absent(vol string) {
	c.t.Helper()
	c.calls++
	_, err := c.z.Call(c.svm, E("volume-size", E("volume", vol)))
	if ze, isZ := err.(*ZapiError); !isZ || (ze.Errno != "15661" && ze.Errno != "13040") {
		c.t.Fatalf("volume-size probe of %s: want not found, got %v", vol, err)
	}
}

// volumeInfo is VolumeInfo / VolumeGet: one online FlexVol by exact name.
func (c *cycle) volumeInfo(vol string) *Node {
	c.t.Helper()
	res := c.call(E("volume-get-iter", E("max-records", "100"), E("query", E("volume-attributes",
		E("volume-id-attributes", E("name", vol), E("style-extended", "flexvol")),
		E("volume-state-attributes", E("state", "online"))))))
	if recs := res.Records(); len(recs) != 1 {
		c.t.Fatalf("volume-get-iter %s: %d records", vol, len(recs))
	}
	return res.Records()[0]
}

// modify is volume-modify-iter on one volume by name.
func (c *cycle) modify(vol, attrs string) {
	c.t.Helper()
	c.call(E("volume-modify-iter",
		E("attributes", E("volume-attributes", attrs)),
		E("query", E("volume-attributes", E("volume-id-attributes", E("name", vol))))))
}

// followup is CreateFollowup: read the volume, mount it again only when it has no junction path.
func (c *cycle) followup(vol string) {
	c.t.Helper()
	if c.volumeInfo(vol).Get("volume-id-attributes/junction-path") == "" {
		c.call(E("volume-mount", E("junction-path", "/"+vol), E("volume-name", vol)))
	}
}

// create is Create (§3.1, defaults) then CreateFollowup (§3.2).
func (c *cycle) create(vol string) {
	c.t.Helper()
	c.absent(vol)
	c.call(E("volume-create",
		E("containing-aggr-name", "aggr1"), E("export-policy", "default"),
		E("percentage-snapshot-reserve", "0"), E("size", "1073741824"),
		E("snapshot-policy", "none"), E("space-reserve", "none"), E("tiering-policy", "none"),
		E("unix-permissions", "---rwxrwxrwx"), E("volume", vol), "<volume-comment></volume-comment>",
		E("volume-security-style", "unix")))
	c.modify(vol, E("volume-snapshot-attributes", E("snapdir-access-enabled", "false")))
	c.call(E("volume-mount", E("junction-path", "/"+vol), E("volume-name", vol)))
	c.followup(vol)
}

// snapshot is CreateSnapshot (§3.8).
func (c *cycle) snapshot(vol, snap string) {
	c.t.Helper()
	c.call(E("volume-size", E("volume", vol)))
	c.volumeInfo(vol) // VolumeUsedSize
	c.call(E("snapshot-create", E("snapshot", snap), E("volume", vol)))
	res := c.call(E("snapshot-get-iter", E("max-records", "100"),
		E("query", E("snapshot-info", E("name", snap), E("volume", vol)))))
	if recs := res.Records(); len(recs) != 1 || recs[0].Get("access-time") == "" {
		c.t.Fatalf("snapshot-get-iter %s@%s: %d records", vol, snap, len(recs))
	}
}

// clone is CreateClone from a named snapshot (§3.5), then CreateFollowup.
func (c *cycle) clone(source, snap, clone string) {
	c.t.Helper()
	comment := c.volumeInfo(source).Get("volume-id-attributes/comment")
	c.absent(clone)
	c.call(E("volume-clone-create", E("parent-snapshot", snap), E("parent-volume", source), E("volume", clone)))
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c.volumeInfo(clone).Get("volume-state-attributes/state") == "online" {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("clone %s not online within 30 s", clone)
		}
	}
	c.modify(clone, E("volume-id-attributes", E("comment", comment)))
	c.call(E("volume-mount", E("junction-path", "/"+clone), E("volume-name", clone)))
	c.modify(clone, E("volume-export-attributes", E("policy", "default")))
	c.followup(clone)
}

// destroy is Destroy of a FlexVol (§3.7, no recovery-queue purge).
func (c *cycle) destroy(vol string) {
	c.t.Helper()
	c.call(E("volume-size", E("volume", vol)))
	loc := c.svm + ":" + vol
	c.call(E("snapmirror-destroy", E("destination-location", loc)), "15661")
	c.call(E("snapmirror-release", E("destination-location", loc), E("relationship-info-only", "true")), "19068")
	c.calls++ // its ZAPI status is not checked
	_, err := c.z.Call(c.svm, E("snapmirror-get-destination-iter",
		E("query", E("snapmirror-destination-info", E("source-location", loc)))))
	if _, isZ := err.(*ZapiError); err != nil && !isZ {
		c.t.Fatalf("snapmirror-get-destination-iter %s: %v", loc, err)
	}
	c.call(E("volume-destroy", E("name", vol), E("unmount-and-offline", "true")), "13040")
}

type journalEntry struct {
	Seq       uint64 `json:"seq"`
	Front     string `json:"front"`
	API       string `json:"api"`
	LatencyUS uint64 `json:"latency_us"`
}

func readJournal(t *testing.T, s *Sim) []journalEntry {
	t.Helper()
	resp, err := http.Get(s.AdminURL + "/journal?front=zapi&limit=100000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []journalEntry
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("journal: %v", err)
	}
	return out
}

func TestTridentCycleBench(t *testing.T) {
	path := os.Getenv("ONTAP_SIM_CYCLE_JSON")
	if path == "" {
		t.Skip("set ONTAP_SIM_CYCLE_JSON=FILE to run the Trident-sequence cycle benchmark")
	}
	// A state dir, as `serve` runs by default: every change is journalled and fsynced.
	s := startSim(t, SimOptions{StateDir: t.TempDir()})
	z := NewZAPI(s, "admin", DefaultPassword)
	z.HTTP.Timeout = 0 // Trident's http.Client has none (a 90 s context per call instead)
	c := &cycle{t: t, z: z, svm: "svm1"}
	// The backend is up before the cycle: its connection is open, as after Trident's init.
	c.call("<vserver-get/>")
	before := readJournal(t, s)
	var last uint64
	if len(before) > 0 {
		last = before[len(before)-1].Seq
	}

	vol := func(i int) string { return fmt.Sprintf("trident_pvc_bench_%03d", i) }
	const snap = "snapshot_bench"
	start := time.Now()
	c.calls = 0
	for i := 0; i < cycleVolumes; i++ {
		c.create(vol(i))
	}
	for i := 0; i < cycleVolumes; i++ {
		c.snapshot(vol(i), snap)
	}
	for i := 0; i < cycleVolumes; i++ {
		c.clone(vol(i), snap, vol(i)+"_clone")
	}
	for i := 0; i < cycleVolumes; i++ {
		c.destroy(vol(i) + "_clone")
		c.call(E("snapshot-delete", E("snapshot", snap), E("volume", vol(i))))
		c.destroy(vol(i))
	}
	wall := time.Since(start)

	var inSim time.Duration
	entries := 0
	for _, e := range readJournal(t, s) {
		if e.Seq > last {
			entries++
			inSim += time.Duration(e.LatencyUS) * time.Microsecond
		}
	}
	if entries != c.calls {
		t.Fatalf("the journal holds %d calls after the warm-up, the cycle made %d", entries, c.calls)
	}
	out, err := json.MarshalIndent(map[string]any{
		"volumes":        cycleVolumes,
		"calls":          c.calls,
		"wall_s":         wall.Seconds(),
		"in_sim_s":       inSim.Seconds(),
		"share_in_sim":   inSim.Seconds() / wall.Seconds(),
		"client":         runtime.Version() + " net/http, TLS, keep-alive, one call at a time",
		"call_sequence":  "Trident ontap-nas ZAPI sequence (trident-zapi.md §3), not the Trident binary",
		"journal_filter": "front=zapi, seq after the warm-up call",
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d volumes, %d calls: wall %s, inside ontap-sim %s (%.0f%%)",
		cycleVolumes, c.calls, wall, inSim, 100*inSim.Seconds()/wall.Seconds())
}
