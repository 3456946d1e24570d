package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
)

// Routes implements apis.RouteProvider: the webhooks API, superusers only.
func (p *Plugin) Routes(g *echo.Group) {
	r := g.Group("/hg/webhooks", apis.RequireSuperuser)
	r.GET("", p.list)
	r.POST("", p.create)
	r.GET("/:id", p.view)
	r.PATCH("/:id", p.update)
	r.DELETE("/:id", p.remove)
	r.GET("/:id/deliveries", p.deliveries)
	r.POST("/deliveries/:id/redeliver", p.redeliver)
}

// webhookOut is a webhook as the API shows it: never with its secret.
type webhookOut struct {
	ID         string   `json:"id"`
	Collection string   `json:"collection"`
	Events     []string `json:"events"`
	URL        string   `json:"url"`
	Enabled    bool     `json:"enabled"`
	Created    string   `json:"created"`
	Updated    string   `json:"updated"`
}

func out(w *webhook) webhookOut {
	ev := w.events()
	if ev == nil {
		ev = []string{}
	}
	return webhookOut{ID: w.ID, Collection: w.Collection, Events: ev, URL: w.URL, Enabled: w.Enabled, Created: w.Created, Updated: w.Updated}
}

// webhookIn is a create or update body; absent fields keep their value on
// update.
type webhookIn struct {
	Collection *string   `json:"collection"`
	Events     *[]string `json:"events"`
	URL        *string   `json:"url"`
	Secret     *string   `json:"secret"`
	Enabled    *bool     `json:"enabled"`
}

func (p *Plugin) list(c echo.Context) error {
	var rows []webhook
	if err := p.app.ReadDB(c.Request().Context()).Order("created, id").Find(&rows).Error; err != nil {
		return err
	}
	items := make([]webhookOut, len(rows))
	for i := range rows {
		items[i] = out(&rows[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (p *Plugin) find(ctx context.Context, id string) (*webhook, error) {
	if !core.PlausibleID(id) {
		return nil, core.Errorf(core.CodeNotFound, "The requested resource wasn't found.")
	}
	var w webhook
	err := p.app.ReadDB(ctx).Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, core.Errorf(core.CodeNotFound, "The requested resource wasn't found.")
	}
	return &w, err
}

func (p *Plugin) view(c echo.Context) error {
	w, err := p.find(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out(w))
}

func (p *Plugin) create(c echo.Context) error {
	var in webhookIn
	if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
		return core.Errorf(core.CodeInvalid, "Failed to read the request body.")
	}
	now := core.FormatTime(p.app.Now())
	w := &webhook{ID: security.NewID(), Enabled: true, Events: "[]", Created: now, Updated: now}
	if err := p.apply(w, &in, true); err != nil {
		return err
	}
	if err := p.app.DB(c.Request().Context()).Create(w).Error; err != nil {
		return err
	}
	p.changed(c.Request().Context())
	return c.JSON(http.StatusOK, out(w))
}

func (p *Plugin) update(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := p.find(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var in webhookIn
	if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
		return core.Errorf(core.CodeInvalid, "Failed to read the request body.")
	}
	if err := p.apply(w, &in, false); err != nil {
		return err
	}
	w.Updated = core.FormatTime(p.app.Now())
	if err := p.app.DB(ctx).Save(w).Error; err != nil {
		return err
	}
	p.changed(ctx)
	return c.JSON(http.StatusOK, out(w))
}

// apply validates in and sets it on w.
func (p *Plugin) apply(w *webhook, in *webhookIn, create bool) error {
	fields := map[string]core.FieldError{}
	if in.Collection != nil {
		col, err := p.app.Collections().Find(*in.Collection)
		if err != nil || col == nil {
			fields["collection"] = core.FieldError{Code: "validation_missing_collection", Message: "No such collection."}
		} else {
			w.Collection = col.Name
		}
	} else if create {
		fields["collection"] = core.Required()
	}
	if in.Events != nil {
		ev := *in.Events
		if len(ev) == 0 {
			fields["events"] = core.Required()
		}
		for _, e := range ev {
			if !slices.Contains([]string{EventCreate, EventUpdate, EventDelete}, e) {
				fields["events"] = core.FieldError{Code: "validation_invalid_event", Message: "Events are create, update and delete."}
			}
		}
		data, _ := json.Marshal(ev)
		w.Events = string(data)
	} else if create {
		fields["events"] = core.Required()
	}
	if in.URL != nil {
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fields["url"] = core.FieldError{Code: "validation_invalid_url", Message: "Must be an http or https URL."}
		}
		w.URL = *in.URL
	} else if create {
		fields["url"] = core.Required()
	}
	if in.Secret != nil && *in.Secret != "" {
		sealed, err := p.app.SealSecret(core.SecretWebhook, *in.Secret)
		if err != nil {
			return err
		}
		w.Secret = sealed
	} else if create {
		fields["secret"] = core.Required()
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
	if len(fields) > 0 {
		return core.Invalid("Failed to save the webhook.", fields)
	}
	return nil
}

func (p *Plugin) remove(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := p.find(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	err = p.app.InTx(ctx, func(ctx context.Context) error {
		if err := p.app.DB(ctx).Where("webhook = ?", w.ID).Delete(&delivery{}).Error; err != nil {
			return err
		}
		return p.app.DB(ctx).Delete(w).Error
	})
	if err != nil {
		return err
	}
	p.changed(ctx)
	return c.NoContent(http.StatusNoContent)
}

func (p *Plugin) deliveries(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := p.find(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var rows []delivery
	if err := p.app.ReadDB(ctx).Where("webhook = ?", w.ID).Order(`created, attempt, id`).Find(&rows).Error; err != nil {
		return err
	}
	if rows == nil {
		rows = []delivery{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rows})
}

// redeliver queues the delivery of an earlier attempt again.
func (p *Plugin) redeliver(c echo.Context) error {
	ctx := c.Request().Context()
	if !core.PlausibleID(c.Param("id")) {
		return core.Errorf(core.CodeNotFound, "The requested resource wasn't found.")
	}
	var d delivery
	err := p.app.ReadDB(ctx).Where("id = ?", c.Param("id")).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return core.Errorf(core.CodeNotFound, "The requested resource wasn't found.")
	}
	if err != nil {
		return err
	}
	var jobID string
	err = p.app.InTx(ctx, func(ctx context.Context) error {
		var err error
		jobID, err = p.app.Jobs().EnqueueTx(ctx, JobType, json.RawMessage(d.Payload))
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"delivery": jobID})
}

var _ apis.RouteProvider = (*Plugin)(nil)
