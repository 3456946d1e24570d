package migratecmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
)

// Actions, the middle part of a file's name.
const (
	ActionCreated  = "created"
	ActionUpdated  = "updated"
	ActionDeleted  = "deleted"
	ActionSnapshot = "collections_snapshot"
)

// bindAutomigrate writes a migration file for every collection change
// this App commits, except those made by applying a migration file.
func (p *Plugin) bindAutomigrate(app *core.App, dir string) {
	app.OnCollectionCreate().BindFunc(func(e *core.CollectionEvent) error {
		if err := e.Next(); err != nil || applying(e.Context) {
			return err
		}
		up, err := collectionsJSON(e.Collection)
		if err != nil {
			return err
		}
		f := &File{Up: Step{Collections: up}, Down: &Step{Delete: []Ref{refOf(e.Collection)}}}
		return p.record(e.Context, app, dir, ActionCreated, e.Collection.Name, f)
	})
	app.OnCollectionUpdate().BindFunc(func(e *core.CollectionEvent) error {
		if err := e.Next(); err != nil || applying(e.Context) {
			return err
		}
		if same, err := sameDefinition(e.Old, e.Collection); err != nil || same {
			return err
		}
		up, err := collectionsJSON(e.Collection)
		if err != nil {
			return err
		}
		down, err := collectionsJSON(e.Old)
		if err != nil {
			return err
		}
		f := &File{Up: Step{Collections: up}, Down: &Step{Collections: down}}
		return p.record(e.Context, app, dir, ActionUpdated, e.Collection.Name, f)
	})
	app.OnCollectionDelete().BindFunc(func(e *core.CollectionEvent) error {
		if err := e.Next(); err != nil || applying(e.Context) {
			return err
		}
		down, err := collectionsJSON(e.Collection)
		if err != nil {
			return err
		}
		f := &File{Up: Step{Delete: []Ref{refOf(e.Collection)}}, Down: &Step{Collections: down}}
		return p.record(e.Context, app, dir, ActionDeleted, e.Collection.Name, f)
	})
}

func refOf(c *core.Collection) Ref { return Ref{ID: c.ID, Name: c.Name} }

// sameDefinition reports whether an update changed nothing but the
// updated time, which is not worth a migration.
func sameDefinition(a, b *core.Collection) (bool, error) {
	ac, bc := *a, *b
	ac.Updated, bc.Updated = "", ""
	ja, err := json.Marshal(&ac)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(&bc)
	return string(ja) == string(jb), err
}

// record names the file, records it as applied in the change's
// transaction (this instance has the change already) and writes it once
// the transaction commits: a change that rolls back leaves neither.
func (p *Plugin) record(ctx context.Context, app *core.App, dir, action, collection string, f *File) error {
	b, err := f.encode()
	if err != nil {
		return err
	}
	// Fail the change, rather than lose its migration, when the dir cannot
	// be made.
	if err := osMkdirAll(dir); err != nil {
		return err
	}
	name, err := p.nextName(app, dir, action, collection)
	if err != nil {
		return err
	}
	if err := app.Migrator().MarkApplied(ctx, name); err != nil {
		return err
	}
	app.AfterCommit(ctx, func(context.Context) {
		path := filepath.Join(dir, name)
		if err := writeNew(path, b); err != nil {
			app.Logger().Error("migratecmd: write migration file", "path", path, "error", err)
			return
		}
		app.Logger().Info("migratecmd: wrote migration file", "path", path)
	})
	return nil
}

// nextName returns <stamp>_<action>_<collection>.json, its stamp the unix
// time, moved past every file of the dir and every name this process has
// given, so that the file sorts after them: migrations apply in name order.
func (p *Plugin) nextName(app *core.App, dir, action, collection string) (string, error) {
	latest, err := latestStamp(dir)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	stamp := max(app.Now().Unix(), p.last+1, latest+1)
	p.last = stamp
	if collection != "" {
		collection = "_" + collection
	}
	return fmt.Sprintf("%d_%s%s.json", stamp, action, collection), nil
}

// latestStamp returns the largest numeric name prefix in dir.
func latestStamp(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		if n, err := strconv.ParseInt(prefix, 10, 64); err == nil && n > latest {
			latest = n
		}
	}
	return latest, nil
}

// writeNew writes a file that must not exist yet, completely or not at
// all: a reader (another `migrate up`) never sees half a file.
func writeNew(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

func osMkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("migrations dir: %w", err)
	}
	return nil
}
