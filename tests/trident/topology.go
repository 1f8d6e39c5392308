package harness

import (
	"fmt"
	"strings"
)

// SVMSpec describes one SVM of a test topology.
type SVMSpec struct {
	Name       string
	Aggregates []string
	LIFUp      bool
	LIFAddress string // default 127.0.0.N for the N-th SVM
}

// Topology renders a topology TOML with cluster1/cluster1-01, aggr1 and the given SVMs. Users: admin
// (cluster), and vsadmin scoped to the first SVM; certUser, when set, is a cluster admin that
// authenticates by client certificate (CN = certUser).
func Topology(svms []SVMSpec, certUser string) string {
	var b strings.Builder
	b.WriteString(`seed = "trident-harness"

[cluster]
name = "cluster1"
version = "9.14.1"
ontapi = "1.241"

[[nodes]]
name = "cluster1-01"
serial_number = "644358204314"
model = "AFF-A250"

[[aggregates]]
name = "aggr1"
size = "10TiB"
media = "ssd"
node = "cluster1-01"

[[aggregates]]
name = "aggr2"
size = "10TiB"
media = "ssd"
node = "cluster1-01"
`)
	for i, s := range svms {
		addr := s.LIFAddress
		if addr == "" {
			addr = fmt.Sprintf("127.0.0.%d", i+1)
		}
		status := "down"
		if s.LIFUp {
			status = "up"
		}
		aggrs := make([]string, len(s.Aggregates))
		for j, a := range s.Aggregates {
			aggrs[j] = fmt.Sprintf("%q", a)
		}
		fmt.Fprintf(&b, `
[[svms]]
name = %q
state = "running"
aggregates = [%s]
protocols = ["nfs"]
comment = "trident harness"

[[svms.lifs]]
name = "%s_data%d"
address = %q
netmask = "255.0.0.0"
role = "data"
protocols = ["nfs"]
status = %q
node = "cluster1-01"
`, s.Name, strings.Join(aggrs, ", "), s.Name, i+1, addr, status)
	}
	b.WriteString(`
[[users]]
name = "admin"
password = "netapp1!"
scope = "cluster"
role = "admin"
`)
	if len(svms) > 0 {
		fmt.Fprintf(&b, `
[[users]]
name = "vsadmin"
password = "netapp1!"
scope = %q
role = "admin"
`, svms[0].Name)
	}
	if certUser != "" {
		fmt.Fprintf(&b, `
[[users]]
name = %q
certificate_cn = %q
scope = "cluster"
role = "admin"
`, certUser, certUser)
	}
	return b.String()
}
