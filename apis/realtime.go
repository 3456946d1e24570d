package apis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/realtime"
	"github.com/labstack/echo/v4"
)

// Limits of a subscription list, PocketBase's.
const (
	maxSubscriptions      = 1000
	maxSubscriptionLength = 2500
	// realtimeWriteTimeout bounds one SSE write: a client that stops
	// reading is cut off instead of holding the handler forever.
	realtimeWriteTimeout = time.Minute
)

type realtimeHandlers struct{ app *core.App }

func registerRealtimeRoutes(g *echo.Group, app *core.App) {
	h := realtimeHandlers{app}
	g.GET("/realtime", h.connect)
	g.POST("/realtime", h.setSubscriptions)
}

// connect streams server-sent events: PB_CONNECT with the client id, then
// the client's record events, keep-alive comments in between, until the
// client leaves, idles out, falls behind or the server shuts down.
func (h realtimeHandlers) connect(c echo.Context) error {
	rt := h.app.Realtime()
	client, err := rt.Connect()
	if err != nil {
		return err
	}
	defer rt.Disconnect(client.ID())

	w := c.Response()
	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for ordinary requests;
	// this one lives as long as the client does.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	hdr := w.Header()
	hdr.Set(echo.HeaderContentType, "text/event-stream")
	hdr.Set(echo.HeaderCacheControl, "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	connectData, _ := json.Marshal(map[string]string{"clientId": client.ID()})
	if writeSSE(w, rc, client, realtime.Message{Name: "PB_CONNECT", Data: connectData}) != nil {
		return nil
	}
	cfg := h.app.Config().Realtime
	idle := time.NewTimer(cfg.IdleTimeout)
	defer idle.Stop()
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-client.Done():
			return nil
		case <-idle.C:
			return nil
		case <-ping.C:
			if writeRaw(w, rc, []byte(":ping\n\n")) != nil {
				return nil
			}
		case msg := <-client.Outbox():
			if writeSSE(w, rc, client, msg) != nil {
				return nil
			}
			idle.Reset(cfg.IdleTimeout)
		}
	}
}

// writeSSE writes one event, with the fields option of its subscription
// applied to the record.
func writeSSE(w io.Writer, rc *http.ResponseController, client *realtime.Client, msg realtime.Message) error {
	data := msg.Data
	if sub, ok := client.Subscription(msg.Name); ok && sub.Query["fields"] != "" {
		data = pickRecordFields(data, sub.Query["fields"])
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "id:%s\nevent:%s\ndata:%s\n\n", client.ID(), msg.Name, data)
	return writeRaw(w, rc, b.Bytes())
}

func writeRaw(w io.Writer, rc *http.ResponseController, p []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(realtimeWriteTimeout))
	if _, err := w.Write(p); err != nil {
		return err
	}
	return rc.Flush()
}

// pickRecordFields keeps the fields of the event's record that fields
// names; an invalid fields option leaves the record whole.
func pickRecordFields(data []byte, fields string) []byte {
	spec, err := parsePickSpec(fields)
	if err != nil {
		return data
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var payload map[string]any
	if dec.Decode(&payload) != nil {
		return data
	}
	pickValue(payload["record"], spec)
	out, err := json.Marshal(payload)
	if err != nil {
		return data
	}
	return out
}

// setSubscriptions replaces a client's subscriptions (an empty list
// unsubscribes from everything) and sets its auth from this request's.
func (h realtimeHandlers) setSubscriptions(c echo.Context) error {
	form, err := bindForm(c)
	if err != nil {
		return err
	}
	clientID := formString(form, "clientId")
	subs, fields := subscriptionList(form["subscriptions"])
	if clientID == "" {
		fields["clientId"] = core.Required()
	}
	if len(fields) > 0 {
		return core.Invalid("Something went wrong while processing your request.", fields)
	}
	if err := h.app.Realtime().SetSubscriptions(c.Request().Context(), clientID, subs); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// subscriptionList reads the subscriptions field: a list of strings (or
// one string from a form), within PocketBase's limits.
func subscriptionList(v any) ([]string, map[string]core.FieldError) {
	fields := map[string]core.FieldError{}
	var subs []string
	switch x := v.(type) {
	case nil:
	case string:
		subs = []string{x}
	case []string:
		subs = x
	case []any:
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				fields["subscriptions"] = core.FieldError{Code: "validation_invalid_value", Message: "Must be a list of strings."}
				return nil, fields
			}
			subs = append(subs, s)
		}
	default:
		fields["subscriptions"] = core.FieldError{Code: "validation_invalid_value", Message: "Must be a list of strings."}
		return nil, fields
	}
	if len(subs) > maxSubscriptions {
		fields["subscriptions"] = core.FieldError{Code: "validation_length_too_long", Message: fmt.Sprintf("The length must be no more than %d.", maxSubscriptions)}
	}
	for _, s := range subs {
		if len(s) > maxSubscriptionLength || strings.ContainsAny(s, "\r\n") {
			fields["subscriptions"] = core.FieldError{Code: "validation_invalid_value", Message: "Invalid subscription."}
		}
	}
	return subs, fields
}
