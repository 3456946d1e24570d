package jobs_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const asynqPath = "github.com/hibiken/asynq"

// asynqAllowed are the files outside core/jobs that may import Asynq, and
// why.
var asynqAllowed = map[string]string{
	// The fault suite's node is built unchanged by tests/faults (its
	// source is frozen with the suite); it still compiles because
	// jobs.Option is an alias of asynq.Option.
	"tests/faults/jobnode/main.go": "frozen fault-suite node",
}

// TestOnlyJobsImportsAsynq keeps Asynq behind this package: no other Go
// file of the module, tests included, may import it, so that core, apis,
// the CLI and plugins (and their tests, the examples plugin authors copy)
// see only core/jobs' types.
func TestOnlyJobsImportsAsynq(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	var offenders []string
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasPrefix(rel, "core/jobs/") {
			return nil
		}
		if imports(t, path, asynqPath) {
			if _, ok := asynqAllowed[rel]; ok {
				seen[rel] = true
			} else {
				offenders = append(offenders, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offenders) > 0 {
		t.Errorf("these files import %s; use core/jobs (or core's re-exports) instead:\n%s", asynqPath, strings.Join(offenders, "\n"))
	}
	for rel, why := range asynqAllowed {
		if !seen[rel] {
			t.Errorf("%s (%s) no longer imports %s: drop it from asynqAllowed", rel, why, asynqPath)
		}
	}
}

func imports(t *testing.T, path, pkg string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == pkg {
			return true
		}
	}
	return false
}

// moduleRoot returns the directory of the module's go.mod, above the
// package's.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
