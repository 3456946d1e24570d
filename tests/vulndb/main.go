// Command vulndb cuts the Go vulnerability database down to the modules
// this repository builds with, for `make vulncheck` in CI.
//
// govulncheck reads a database in the vuln.go.dev layout (index/db.json,
// index/modules.json, index/vulns.json, ID/<id>.json). CI reaches the Go
// module proxy but not vuln.go.dev, and indexing the whole
// golang.org/x/vulndb module takes minutes, so `make vulndb` indexes it
// once and this program keeps what matters here: the entries of every
// module in `go list -m all`, of the standard library and of the
// toolchain. The result is committed in tests/vulndb/db with the module
// list it was cut for (modules.txt); `make vulncheck` refuses to run when
// go.mod has gained a module since, so a new dependency is never checked
// against a database that does not know it.
//
//	go run ./tests/vulndb -from <indexed full db> -out tests/vulndb/db < modules
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

type moduleEntry struct {
	Path  string            `json:"path"`
	Vulns []json.RawMessage `json:"vulns"`
}

type vulnRef struct {
	ID string `json:"id"`
}

func main() {
	from := flag.String("from", "", "the full database, as golang.org/x/vulndb/cmd/indexdb wrote it")
	out := flag.String("out", "tests/vulndb/db", "where to write the subset")
	flag.Parse()
	if err := run(*from, *out); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(from, out string) error {
	if from == "" {
		return fmt.Errorf("-from is required")
	}
	// The module paths to keep, one per line on stdin (`go list -m -f '{{.Path}}' all`).
	keep := map[string]bool{"stdlib": true, "toolchain": true}
	var listed []string
	s := bufio.NewScanner(os.Stdin)
	for s.Scan() {
		if p := strings.TrimSpace(s.Text()); p != "" {
			keep[p] = true
			listed = append(listed, p)
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	if len(listed) == 0 {
		return fmt.Errorf("no module paths on stdin")
	}

	var modules []moduleEntry
	if err := readJSON(filepath.Join(from, "index", "modules.json"), &modules); err != nil {
		return err
	}
	ids := map[string]bool{}
	var kept []moduleEntry
	for _, m := range modules {
		if !keep[m.Path] {
			continue
		}
		kept = append(kept, m)
		for _, raw := range m.Vulns {
			var v vulnRef
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("modules.json: %w", err)
			}
			ids[v.ID] = true
		}
	}
	var vulns []json.RawMessage
	if err := readJSON(filepath.Join(from, "index", "vulns.json"), &vulns); err != nil {
		return err
	}
	var keptVulns []json.RawMessage
	for _, raw := range vulns {
		var v vulnRef
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("vulns.json: %w", err)
		}
		if ids[v.ID] {
			keptVulns = append(keptVulns, raw)
		}
	}

	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return err
	}
	for id := range ids {
		b, err := os.ReadFile(filepath.Join(from, "ID", id+".json"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "ID", id+".json"), b, 0o644); err != nil {
			return err
		}
	}
	db, err := os.ReadFile(filepath.Join(from, "index", "db.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "index", "db.json"), db, 0o644); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), kept); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "vulns.json"), keptVulns); err != nil {
		return err
	}
	slices.Sort(listed)
	listed = slices.Compact(listed)
	if err := os.WriteFile(filepath.Join(out, "modules.txt"), []byte(strings.Join(listed, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("vulndb: %d of %d modules, %d advisories, in %s\n", len(kept), len(modules), len(ids), out)
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
