// Package slug is an example plugin: it gives the records of chosen
// collections a URL slug made from another field, and refuses a record
// whose slug is taken with a PocketBase-shaped validation error. Copy it
// to start a plugin of your own.
package slug

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
	"golang.org/x/text/unicode/norm"
)

// Plugin fills Field from Source on create, and on update when Source
// changes, for the records of Collections.
type Plugin struct {
	Collections []string
	Source      string // e.g. "title"
	Field       string // e.g. "slug"
}

// Name implements core.Plugin.
func (p *Plugin) Name() string { return "slug" }

// Register implements core.Plugin: it binds the record hooks. They run
// inside the record's transaction, after validation of the submitted
// values and before the row is written.
func (p *Plugin) Register(app *core.App) error {
	app.OnRecordCreate(p.Collections...).BindFunc(func(e *core.RecordEvent) error {
		if err := p.fill(e.Context, app, e.Record); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordUpdate(p.Collections...).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString(p.Source) != fmt.Sprint(e.Record.Original(p.Source)) || e.Record.GetString(p.Field) == "" {
			if err := p.fill(e.Context, app, e.Record); err != nil {
				return err
			}
		}
		return e.Next()
	})
	return nil
}

func (p *Plugin) fill(ctx context.Context, app *core.App, rec *core.Record) error {
	slug := Make(rec.GetString(p.Source))
	if slug == "" {
		return core.Invalid("Failed to save record.", map[string]core.FieldError{
			p.Source: {Code: "validation_slug_empty", Message: "Must contain letters or digits to make a slug from."},
		})
	}
	// Values reach the filter as @request.query parameters, so they are
	// bound, never spliced into the expression. The check acts for the
	// system, so that rules hide no record with the slug.
	req := &core.RequestInfo{Actor: core.SystemActor(), Query: map[string]string{"slug": slug, "id": rec.ID()}}
	res, err := app.Records().List(core.WithRequest(ctx, req), rec.Collection(), core.RecordQuery{
		Filter:     p.Field + " = @request.query.slug && id != @request.query.id",
		ListParams: core.ListParams{PerPage: 1, SkipTotal: true},
	})
	if err != nil {
		return err
	}
	if len(res.Items) > 0 {
		return core.Invalid("Failed to save record.", map[string]core.FieldError{
			p.Source: {Code: "validation_slug_taken", Message: "Another record already has the slug " + slug + "."},
		})
	}
	rec.Set(p.Field, slug)
	return nil
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// Make turns s into a slug: lower-case ASCII letters and digits joined by
// hyphens, accents removed.
func Make(s string) string {
	decomposed := norm.NFD.String(strings.ToLower(s))
	var b strings.Builder
	for _, r := range decomposed {
		if r < 0x80 {
			b.WriteRune(r)
		}
	}
	return strings.Trim(nonWord.ReplaceAllString(b.String(), "-"), "-")
}

var _ core.Plugin = (*Plugin)(nil)
