package coretest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// update is the test binary's -update flag. It is the kit's one
// package-level variable: the flag package needs it registered before
// the test binary parses its flags, and nothing writes it afterwards.
var update = flag.Bool("update", false, "rewrite testdata/*.golden with what the tests got")

// Golden compares got with testdata/<name>.golden, beside the test, and
// fails t with both on a difference. Run the tests with -update to write
// the files instead (then review the diff before committing it).
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("coretest: golden %s: %v (run the test with -update to write it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("coretest: %s differs (-update rewrites it)\n%s", path, firstDiff(string(want), string(got)))
	}
}

// GoldenJSON is Golden for a JSON body, normalised first by NormalizeJSON
// so that the file is stable from run to run and on both dialects.
func GoldenJSON(t testing.TB, name string, body []byte) {
	t.Helper()
	Golden(t, name, NormalizeJSON(t, body))
}

// firstDiff shows the first line on which want and got part, with its
// neighbours, so that a long golden file's failure stays readable.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return "(only trailing bytes differ)"
}

var (
	datePattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$`)
	idPattern    = regexp.MustCompile(`^[a-z0-9]{15}$`)
	tokenPattern = regexp.MustCompile(`^eyJ[\w-]*\.[\w-]*\.[\w-]*$`)
)

// NormalizeJSON re-encodes body indented, with sorted keys, and with what
// changes from run to run replaced: dates become "<date>", JWTs
// "<token>", and record ids (15 lowercase letters and digits) "<id1>",
// "<id2>", ... numbered in order of first appearance, so that a relation
// still points at the same placeholder as the record it names.
func NormalizeJSON(t testing.TB, body []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("coretest: not JSON: %v: %s", err, body)
	}
	n := &normalizer{ids: map[string]string{}}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep "<id1>" readable in the file
	enc.SetIndent("", "  ")
	if err := enc.Encode(n.walk(v)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type normalizer struct{ ids map[string]string }

func (n *normalizer) walk(v any) any {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // number ids in the order the output shows them
		for _, k := range keys {
			v[k] = n.walk(v[k])
		}
	case []any:
		for i := range v {
			v[i] = n.walk(v[i])
		}
	case string:
		return n.scalar(v)
	}
	return v
}

func (n *normalizer) scalar(s string) string {
	switch {
	case datePattern.MatchString(s):
		return "<date>"
	case tokenPattern.MatchString(s):
		return "<token>"
	case idPattern.MatchString(s):
		if p, ok := n.ids[s]; ok {
			return p
		}
		n.ids[s] = fmt.Sprintf("<id%d>", len(n.ids)+1)
		return n.ids[s]
	}
	return s
}
