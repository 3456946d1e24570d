package migratecmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
)

// File is a migration file: what Up applies and what Down applies to
// revert it. Both are declarative states, not statements, so that the same
// file applies on every dialect.
type File struct {
	Up Step `json:"up"`
	// Down is nil (null or left out) for a migration that cannot be
	// reverted.
	Down *Step `json:"down,omitempty"`
}

// Step is one direction of a migration. Collections are created or
// updated to the given definitions (matched by id, then by name) as the
// collections import does; then the collections in Delete are deleted.
type Step struct {
	// Collections are collection definitions in the collections API's
	// JSON; created and updated are ignored.
	Collections []json.RawMessage `json:"collections,omitempty"`
	// DeleteMissing also deletes every non-system collection not listed in
	// Collections (a snapshot).
	DeleteMissing bool `json:"deleteMissing,omitempty"`
	// Delete lists collections to delete, by id (the name is kept for
	// readers, and used when the id is empty).
	Delete []Ref `json:"delete,omitempty"`
}

// Ref names a collection.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// parseFile decodes and checks a migration file; the error names the
// problem, the caller names the file.
func parseFile(b []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var raw struct {
		Up   *Step `json:"up"`
		Down *Step `json:"down"`
	}
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if raw.Up == nil {
		return nil, errors.New(`missing "up"`)
	}
	f := &File{Up: *raw.Up, Down: raw.Down}
	for dir, s := range map[string]*Step{"up": &f.Up, "down": f.Down} {
		if s == nil {
			continue
		}
		if _, err := s.inputs(); err != nil {
			return nil, fmt.Errorf("%s.%w", dir, err)
		}
		for i, r := range s.Delete {
			if r.ID == "" && r.Name == "" {
				return nil, fmt.Errorf("%s.delete.%d: an id or a name is required", dir, i)
			}
		}
	}
	return f, nil
}

// inputs decodes the step's collections afresh: the collection service
// keeps parts of its input, so a decoded input is used once.
func (s *Step) inputs() ([]*core.CollectionInput, error) {
	out := make([]*core.CollectionInput, 0, len(s.Collections))
	for i, raw := range s.Collections {
		var in core.CollectionInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("collections.%d: %w", i, err)
		}
		if (in.ID == nil || *in.ID == "") && (in.Name == nil || *in.Name == "") {
			return nil, fmt.Errorf("collections.%d: an id or a name is required", i)
		}
		out = append(out, &in)
	}
	return out, nil
}

// encode renders a migration file: indented, for diffs and review.
func (f *File) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// collectionsJSON renders collections as the collections API does, keeping
// its key order, but with <, > and & left as they are: rules read better.
func collectionsJSON(cols ...*core.Collection) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(cols))
	for _, c := range cols {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out = append(out, unescapeHTML(b))
	}
	return out, nil
}

// unescapeHTML undoes encoding/json's \u003c, \u003e and \u0026 in valid
// JSON, leaving every other escape as it is.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+5 < len(b) {
			switch string(b[i+2 : i+6]) {
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out, i = append(out, b[i], b[i+1]), i+1
	}
	return out
}

// migrationFile is a migration file found in the dir.
type migrationFile struct {
	name string // the file name, also the migration's name
	file *File
}

// readDir returns the migration files of dir (*.json, dot files ignored)
// in name order. A missing dir has none.
func readDir(dir string) ([]migrationFile, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []migrationFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parseFile(b)
		if err != nil {
			return nil, fmt.Errorf("migration file %s: %w", path, err)
		}
		out = append(out, migrationFile{name: name, file: f})
	}
	slices.SortFunc(out, func(a, b migrationFile) int { return strings.Compare(a.name, b.name) })
	return out, nil
}
