package audit

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/hook"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// Resource is the Casbin resource whose "read" lets a caller who is not a
// superuser read the audit log.
const Resource = "admin:audit"

// The actor types of an entry.
const (
	ActorSuperuser = "superuser"
	ActorRecord    = "record"
	ActorGuest     = "guest"
	ActorSystem    = "system"
)

// The resource kinds of an entry.
const (
	KindCollection = "collection"
	KindSettings   = "settings"
	KindPolicy     = "policy"
	KindRole       = "role"
	KindRecord     = "record"
)

// priority runs the audit handlers last, right before the change itself:
// what they record after e.Next() is what was written, and a handler that
// vetoes or skips the change before them leaves no entry.
const priority = math.MaxInt32

// Plugin keeps the audit log. The zero value audits collections,
// settings, policies and roles; Collections adds records.
type Plugin struct {
	// Collections names the collections (by name or id) whose record
	// creates, updates and deletes are audited; "*" means every
	// collection. The config's plugins.audit.collections adds to it.
	Collections []string

	app *core.App
}

type config struct {
	Collections []string `koanf:"collections"`
}

// Name implements core.Plugin.
func (p *Plugin) Name() string { return "audit" }

// Register implements core.Plugin: it adds the table's migration and binds
// the hooks that write the entries.
func (p *Plugin) Register(app *core.App) error {
	p.app = app
	var cfg config
	if err := app.PluginConfig(p.Name(), &cfg); err != nil {
		return err
	}
	if err := app.AddMigrations(migration()); err != nil {
		return err
	}
	if err := app.AddAdminResource(Resource); err != nil {
		return err
	}
	p.bindCollections()
	p.bindSettingsAndPolicies()
	p.bindRecords(append(slices.Clone(p.Collections), cfg.Collections...))
	return nil
}

func (p *Plugin) bindCollections() {
	type getter func(e *core.CollectionEvent) *core.Collection
	after := func(action string, before, after getter) *hook.Handler[*core.CollectionEvent] {
		return &hook.Handler[*core.CollectionEvent]{Priority: priority, Func: func(e *core.CollectionEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			c := e.Collection
			return p.write(e.Context, entryOf(action, KindCollection, c.ID, c.Name), orNil(before(e)), orNil(after(e)))
		}}
	}
	cur := func(e *core.CollectionEvent) *core.Collection { return e.Collection }
	old := func(e *core.CollectionEvent) *core.Collection { return e.Old }
	none := func(*core.CollectionEvent) *core.Collection { return nil }
	p.app.OnCollectionCreate().Bind(after("collection.create", none, cur))
	p.app.OnCollectionUpdate().Bind(after("collection.update", old, cur))
	p.app.OnCollectionDelete().Bind(after("collection.delete", cur, none))
}

// orNil keeps a nil *Collection a nil interface, so diff sees no value.
func orNil(c *core.Collection) any {
	if c == nil {
		return nil
	}
	return c
}

func (p *Plugin) bindSettingsAndPolicies() {
	p.app.OnSettingsUpdate().Bind(&hook.Handler[*core.SettingsEvent]{Priority: priority, Func: func(e *core.SettingsEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return p.write(e.Context, entryOf("settings.update", KindSettings, "settings", "settings"), *e.Old, *e.New)
	}})
	p.app.OnPolicyChange().Bind(&hook.Handler[*core.PolicyEvent]{Priority: priority, Func: func(e *core.PolicyEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Action, "policy.") {
			pol := e.Policy
			if pol == nil {
				pol = e.OldPolicy
			}
			name := pol.Subject + " " + pol.Resource + " " + pol.Action
			return p.write(e.Context, entryOf(e.Action, KindPolicy, strconv.FormatInt(pol.ID, 10), name), policyOrNil(e.OldPolicy), policyOrNil(e.Policy))
		}
		return p.write(e.Context, entryOf(e.Action, KindRole, e.Role, e.Role), roleOrNil(e.OldRole), roleOrNil(e.NewRole))
	}})
}

func policyOrNil(v *authz.Policy) any {
	if v == nil {
		return nil
	}
	return v
}

func roleOrNil(v *core.RoleView) any {
	if v == nil {
		return nil
	}
	return v
}

// bindRecords audits the records of the collections named (all with "*").
// No names, no record hooks: a record write costs nothing extra.
func (p *Plugin) bindRecords(collections []string) {
	if len(collections) == 0 {
		return
	}
	var tags []string
	if !slices.Contains(collections, "*") {
		tags = collections
	}
	type values func(r *core.Record) map[string]any
	after := func(action string, before, after values) *hook.Handler[*core.RecordEvent] {
		return &hook.Handler[*core.RecordEvent]{Priority: priority, Func: func(e *core.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			r := e.Record
			en := entryOf(action, KindRecord, r.ID(), r.Collection().Name)
			return p.writeRecord(e.Context, en, r, before(r), after(r))
		}}
	}
	none := func(*core.Record) map[string]any { return nil }
	p.app.OnRecordCreate(tags...).Bind(after("record.create", none, currentValues))
	p.app.OnRecordUpdate(tags...).Bind(after("record.update", originalValues, currentValues))
	p.app.OnRecordDelete(tags...).Bind(after("record.delete", currentValues, none))
}

func currentValues(r *core.Record) map[string]any {
	out := make(map[string]any, len(r.Collection().Fields))
	for _, f := range r.Collection().Fields {
		out[f.Name] = r.Get(f.Name)
	}
	return out
}

func originalValues(r *core.Record) map[string]any {
	out := make(map[string]any, len(r.Collection().Fields))
	for _, f := range r.Collection().Fields {
		out[f.Name] = r.Original(f.Name)
	}
	return out
}

// writeRecord writes a record's entry, redacting its password fields
// whatever their names.
func (p *Plugin) writeRecord(ctx context.Context, en row, r *core.Record, before, after map[string]any) error {
	d, err := diffOf(before, after)
	if err != nil {
		return err
	}
	for _, f := range r.Collection().Fields {
		if c, ok := d[f.Name]; ok && f.IsSecret() {
			d[f.Name] = redactChange(c)
		}
	}
	return p.insert(ctx, en, d)
}

// diffOf is diff, with nil maps as no value.
func diffOf(before, after map[string]any) (Diff, error) {
	var b, a any
	if before != nil {
		b = before
	}
	if after != nil {
		a = after
	}
	return diff(b, a)
}

// write diffs before and after and writes the entry en with the actor
// and client IP that ctx carries, in ctx's transaction if any.
// An update that changes nothing but its "updated" stamp (a collection
// re-imported as it was, settings saved unchanged) leaves no entry.
func (p *Plugin) write(ctx context.Context, en row, before, after any) error {
	d, err := diff(before, after)
	if err != nil {
		return err
	}
	if before != nil && after != nil && (len(d) == 0 || len(d) == 1 && hasKey(d, "updated")) {
		return nil
	}
	return p.insert(ctx, en, d)
}

func hasKey(d Diff, k string) bool { _, ok := d[k]; return ok }

func (p *Plugin) insert(ctx context.Context, en row, d Diff) error {
	changes, err := json.Marshal(d)
	if err != nil {
		return err
	}
	actor := core.ActorFrom(ctx)
	en.ID = security.NewID()
	en.Created = core.FormatTime(p.app.Now())
	en.IP = core.ClientIPFrom(ctx)
	en.ActorType = actorType(actor, en.IP)
	en.ActorID, en.ActorCollection, en.ActorEmail = actor.ID, actor.CollectionName, actor.Email
	en.Changes = string(changes)
	return p.app.DB(ctx).Create(&en).Error
}

// actorType classifies the actor. A guest outside any request (no client
// IP) is code acting for the system: a job, a migration, the CLI or a
// plugin that did not set the system actor.
func actorType(a core.Actor, ip string) string {
	switch {
	case a.System:
		return ActorSystem
	case a.IsSuperuser():
		return ActorSuperuser
	case !a.IsGuest():
		return ActorRecord
	case ip == "":
		return ActorSystem
	}
	return ActorGuest
}

func entryOf(action, kind, id, name string) row {
	return row{Action: action, ResourceKind: kind, ResourceID: id, ResourceName: name}
}

// row is one row of the audit table.
type row struct {
	Seq             int64  `gorm:"column:seq;->"`
	ID              string `gorm:"column:id;primaryKey"`
	Created         string `gorm:"column:created"`
	ActorType       string `gorm:"column:actorType"`
	ActorID         string `gorm:"column:actorId"`
	ActorCollection string `gorm:"column:actorCollection"`
	ActorEmail      string `gorm:"column:actorEmail"`
	IP              string `gorm:"column:ip"`
	Action          string `gorm:"column:action"`
	ResourceKind    string `gorm:"column:resourceKind"`
	ResourceID      string `gorm:"column:resourceId"`
	ResourceName    string `gorm:"column:resourceName"`
	Changes         string `gorm:"column:changes"`
}

func (row) TableName() string { return Table }

var _ core.Plugin = (*Plugin)(nil)
