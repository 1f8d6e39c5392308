package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Node is a parsed XML element: name, attributes, text and children, in document order.
type Node struct {
	Name     string
	Attrs    map[string]string
	Text     string
	Children []*Node
}

// Child returns the first child element named name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Path follows a slash-separated path of child names ("attributes/vserver-info/state").
func (n *Node) Path(path string) *Node {
	cur := n
	for _, p := range strings.Split(path, "/") {
		if p == "" {
			continue
		}
		cur = cur.Child(p)
		if cur == nil {
			return nil
		}
	}
	return cur
}

// Get returns the trimmed text at path, or "" when absent.
func (n *Node) Get(path string) string {
	if c := n.Path(path); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

// All returns the children named name.
func (n *Node) All(name string) []*Node {
	var out []*Node
	if n == nil {
		return out
	}
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// Records returns attributes-list/* of an iterator result.
func (n *Node) Records() []*Node {
	if al := n.Child("attributes-list"); al != nil {
		return al.Children
	}
	return nil
}

func parseNode(d *xml.Decoder, start xml.StartElement) (*Node, error) {
	n := &Node{Name: start.Name.Local, Attrs: map[string]string{}}
	for _, a := range start.Attr {
		n.Attrs[a.Name.Local] = a.Value
	}
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c, err := parseNode(d, t)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			n.Text = text.String()
			return n, nil
		}
	}
}

// ParseXML parses a document and returns its root element.
func ParseXML(b []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return parseNode(d, se)
		}
	}
}

// ZapiError is a results element whose status is not "passed".
type ZapiError struct {
	Status, Reason, Errno string
}

func (e *ZapiError) Error() string {
	return fmt.Sprintf("ZAPI status %q, errno %s: %s", e.Status, e.Errno, e.Reason)
}

// ZAPI is a minimal ZAPI client for checking the simulator's state.
type ZAPI struct {
	URL      string
	User     string
	Password string
	HTTP     *http.Client
}

// NewZAPI returns a client for the simulator with basic auth (admin, cluster scope, by default).
func NewZAPI(s *Sim, user, password string) *ZAPI {
	return &ZAPI{
		URL: s.ZAPIURL, User: user, Password: password,
		HTTP: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		},
	}
}

// Call sends one API element (inner XML such as "<volume-get-iter>...</volume-get-iter>"), tunnelled to
// vfiler when it is not "", and returns the results element. A non-passed status is a *ZapiError
// (the results element is returned too).
func (z *ZAPI) Call(vfiler, api string) (*Node, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vf := ""
	if vfiler != "" {
		vf = fmt.Sprintf(` vfiler="%s"`, xmlEscape(vfiler))
	}
	body := `<?xml version="1.0" encoding="UTF-8"?>` +
		`<netapp xmlns="http://www.netapp.com/filer/admin" version="1.21"` + vf + `>` + api + `</netapp>`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, z.URL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/xml")
	if z.User != "" {
		req.SetBasicAuth(z.User, z.Password)
	}
	resp, err := z.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	root, err := ParseXML(b)
	if err != nil {
		return nil, fmt.Errorf("parsing response %q: %w", b, err)
	}
	res := root.Child("results")
	if res == nil {
		return nil, fmt.Errorf("no results element in %s", b)
	}
	if res.Attrs["status"] != "passed" {
		return res, &ZapiError{Status: res.Attrs["status"], Reason: res.Attrs["reason"], Errno: res.Attrs["errno"]}
	}
	return res, nil
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// E builds an element: E("volume", "v1") is <volume>v1</volume>; children are passed pre-rendered.
func E(name string, content ...string) string {
	if len(content) == 1 && !strings.HasPrefix(content[0], "<") {
		return "<" + name + ">" + xmlEscape(content[0]) + "</" + name + ">"
	}
	return "<" + name + ">" + strings.Join(content, "") + "</" + name + ">"
}

// Volume returns the volume-attributes record of a volume in svm, or nil when there is none.
func (z *ZAPI) Volume(svm, name string) (*Node, error) {
	res, err := z.Call(svm, E("volume-get-iter", E("max-records", "100"),
		E("query", E("volume-attributes", E("volume-id-attributes", E("name", name))))))
	if err != nil {
		return nil, err
	}
	recs := res.Records()
	switch len(recs) {
	case 0:
		return nil, nil
	case 1:
		return recs[0], nil
	default:
		return nil, fmt.Errorf("volume-get-iter for %s returned %d records", name, len(recs))
	}
}

// Snapshots returns the snapshot names of a volume.
func (z *ZAPI) Snapshots(svm, volume string) (map[string]*Node, error) {
	res, err := z.Call(svm, E("snapshot-get-iter", E("max-records", "100"),
		E("query", E("snapshot-info", E("volume", volume)))))
	if err != nil {
		return nil, err
	}
	out := map[string]*Node{}
	for _, r := range res.Records() {
		out[r.Get("name")] = r
	}
	return out, nil
}

// ExportRules returns the client-match values of the rules of an export policy.
func (z *ZAPI) ExportRules(svm, policy string) ([]string, error) {
	res, err := z.Call(svm, E("export-rule-get-iter", E("max-records", "100"),
		E("query", E("export-rule-info", E("policy-name", policy)))))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range res.Records() {
		out = append(out, r.Get("client-match"))
	}
	return out, nil
}

// ExportPolicyExists reports whether an export policy exists in svm.
func (z *ZAPI) ExportPolicyExists(svm, policy string) (bool, error) {
	_, err := z.Call(svm, E("export-policy-get", E("policy-name", policy)))
	if err == nil {
		return true, nil
	}
	if ze, ok := err.(*ZapiError); ok && ze.Errno == "15661" {
		return false, nil
	}
	return false, err
}
