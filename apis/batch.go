package apis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// Batch limits that do not come from the settings, as in PocketBase.
const (
	maxBatchURLLength   = 2000
	defaultBatchTimeout = 3 * time.Second
)

type batchHandlers struct{ app *core.App }

func registerBatchRoutes(g *echo.Group, app *core.App) {
	h := batchHandlers{app}
	g.POST("/batch", h.run)
}

// batchInput is the body of POST /api/batch.
type batchInput struct {
	Requests []batchItem `json:"requests"`
}

// batchItem is one request of a batch.
type batchItem struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    map[string]any    `json:"body"`
}

// batchResult is the response to one item of a successful batch; Body is
// null for a 204.
type batchResult struct {
	Body   json.RawMessage `json:"body"`
	Status int             `json:"status"`
}

// run executes the items of a batch in one transaction, each as the record
// route it names would, under the caller's auth and that route's rules.
// The first failing item rolls everything back.
func (h batchHandlers) run(c echo.Context) error {
	settings := h.app.Settings().Batch
	if !settings.Enabled || settings.MaxRequests <= 0 {
		return core.Errorf(core.CodeForbidden, "Batch requests are not allowed.")
	}
	items, err := readBatch(c, settings.MaxBodySize)
	if err != nil {
		return err
	}
	if err := validateBatch(items, settings.MaxRequests); err != nil {
		return err
	}
	timeout := time.Duration(settings.Timeout) * time.Second
	if timeout <= 0 {
		timeout = defaultBatchTimeout
	}
	results, err := h.process(c, items, timeout)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, results)
}

// defaultBatchBodySize applies when batch.maxBodySize is 0, PocketBase's
// 128 MiB.
const defaultBatchBodySize = 128 << 20

// readBatch reads the requests from a JSON body or, as PocketBase's SDKs
// send it, from the @jsonPayload field of a form.
func readBatch(c echo.Context, maxBodySize int64) ([]batchItem, error) {
	req := c.Request()
	if maxBodySize <= 0 {
		maxBodySize = defaultBatchBodySize
	}
	if err := limitBody(c, maxBodySize); err != nil {
		return nil, err
	}
	var in batchInput
	mediaType, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	switch {
	case req.ContentLength == 0:
	case mediaType == echo.MIMEApplicationJSON:
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, batchReadError(err)
		}
		if err := decodeBatch(raw, &in); err != nil {
			return nil, batchReadError(err)
		}
	case mediaType == echo.MIMEMultipartForm || mediaType == echo.MIMEApplicationForm:
		if err := req.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, batchReadError(err)
		}
		for _, payload := range req.Form["@jsonPayload"] {
			if err := decodeBatch([]byte(payload), &in); err != nil {
				return nil, batchReadError(err)
			}
		}
	default:
		return nil, batchReadError(fmt.Errorf("unsupported content type %q", mediaType))
	}
	return in.Requests, nil
}

func decodeBatch(raw []byte, in *batchInput) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(in)
}

func batchReadError(err error) error {
	if rerr := readError(err); core.ErrorCodeOf(rerr) == core.CodeTooLarge {
		return rerr
	}
	return core.Wrap(err, core.CodeInvalid, "Failed to read the submitted batch data.")
}

// validateBatch checks the number of requests and each one's method and
// URL, with PocketBase's codes under dotted keys ("requests.0.method").
func validateBatch(items []batchItem, maxRequests int) error {
	const msg = "Invalid batch request data."
	switch {
	case len(items) == 0:
		return core.Invalid(msg, map[string]core.FieldError{"requests": core.Required()})
	case len(items) > maxRequests:
		return core.Invalid(msg, map[string]core.FieldError{"requests": {
			Code: "validation_length_too_long", Message: fmt.Sprintf("The length must be no more than %d.", maxRequests),
		}})
	}
	fields := map[string]core.FieldError{}
	for i, item := range items {
		key := "requests." + strconv.Itoa(i) + "."
		switch item.Method {
		case "":
			fields[key+"method"] = core.Required()
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			fields[key+"method"] = errInInvalid()
		}
		switch {
		case item.URL == "":
			fields[key+"url"] = core.Required()
		case len([]rune(item.URL)) > maxBatchURLLength:
			fields[key+"url"] = core.FieldError{Code: "validation_length_too_long",
				Message: fmt.Sprintf("The length must be no more than %d.", maxBatchURLLength)}
		}
	}
	if len(fields) > 0 {
		return core.Invalid(msg, fields)
	}
	return nil
}

// process runs the items in one transaction bounded by timeout. An item's
// failure, the timeout or the client going away roll the batch back.
func (h batchHandlers) process(c echo.Context, items []batchItem, timeout time.Duration) ([]batchResult, error) {
	ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
	defer cancel()
	results := make([]batchResult, 0, len(items))
	err := h.app.InTx(ctx, func(ctx context.Context) error {
		for i := range items {
			res, err := h.runItem(ctx, c, &items[i])
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				return h.itemFailed(c, i, err)
			}
			results = append(results, res)
		}
		return nil
	})
	var re *responseError
	switch {
	case err == nil:
		return results, nil
	case errors.As(err, &re):
		return nil, err
	case ctx.Err() != nil:
		return nil, core.Wrap(err, core.CodeInvalid, "Batch transaction failed.")
	}
	return nil, err
}

// itemFailed is PocketBase's answer to a failed item: a 400 whose data
// holds, under the item's index, the response the item would have had.
func (h batchHandlers) itemFailed(c echo.Context, index int, err error) error {
	response := toAPIError(err)
	if response.Status >= http.StatusInternalServerError {
		h.app.Logger().Error("batch request failed", "index", index, "error", err.Error(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	return &responseError{err: err, body: apiError{
		Status:  http.StatusBadRequest,
		Message: "Batch transaction failed.",
		Data: map[string]any{"requests": map[string]any{
			strconv.Itoa(index): map[string]any{
				"code":     "batch_request_failed",
				"message":  "Batch request failed.",
				"response": response,
			},
		}},
	}}
}

// batchAction is the record route an item names, with its path params.
type batchAction struct {
	handler echo.HandlerFunc
	route   string   // the route pattern of the single request
	values  []string // collection[, id]
}

// runItem runs one item through its record handler, on a request that
// copies the outer one (headers merged with the item's) and carries the
// batch transaction in its context.
func (h batchHandlers) runItem(ctx context.Context, c echo.Context, item *batchItem) (batchResult, error) {
	act, ok := h.route(ctx, item)
	if !ok {
		return batchResult{}, core.Errorf(core.CodeInvalid, "")
	}
	req, err := itemRequest(ctx, c.Request(), item)
	if err != nil {
		return batchResult{}, err
	}
	// The item keeps the outer request's caller (PocketBase ignores an
	// item's own Authorization header) and client IP; rules see its own
	// method, query and headers, and "batch" as @request.context.
	info := newRequestInfo(req)
	info.Context = "batch"
	req = req.WithContext(core.WithRequest(req.Context(), info))
	rec := &itemRecorder{header: http.Header{}}
	ic := c.Echo().NewContext(req, rec)
	ic.SetParamNames([]string{"collection", "id"}[:len(act.values)]...)
	ic.SetParamValues(act.values...)
	limited := limitedRequest{method: req.Method, path: req.URL.Path, route: act.route, collection: act.values[0]}
	if err := checkRequestLimits(h.app, ic, limited); err != nil {
		return batchResult{}, err
	}
	if err := act.handler(ic); err != nil {
		return batchResult{}, err
	}
	res := batchResult{Status: rec.status}
	if res.Status == 0 {
		res.Status = http.StatusOK
	}
	if body := bytes.TrimSpace(rec.body.Bytes()); len(body) > 0 {
		res.Body = body
	}
	return res, nil
}

// The record routes a batch item can stand for, as echo names them.
const (
	routeRecords = "/api/collections/:collection/records"
	routeRecord  = "/api/collections/:collection/records/:id"
)

// route maps an item to its record route, as PocketBase's batch does:
// POST and PUT on /api/collections/{c}/records, PATCH and DELETE on
// /api/collections/{c}/records/{id}. PUT is an upsert: an update when the
// body's id names an existing record, a create otherwise; the item is
// rewritten to the method and URL it becomes.
func (h batchHandlers) route(ctx context.Context, item *batchItem) (*batchAction, bool) {
	u, err := url.Parse(item.URL)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, false
	}
	parts := strings.Split(u.Path, "/")
	if len(parts) < 5 || len(parts) > 6 || parts[0] != "" || parts[1] != "api" ||
		parts[2] != "collections" || parts[3] == "" || parts[4] != "records" {
		return nil, false
	}
	records := recordHandlers{h.app}
	collection := parts[3]
	if len(parts) == 6 {
		id := parts[5]
		switch {
		case id == "":
			return nil, false
		case item.Method == http.MethodPatch:
			return &batchAction{records.update, routeRecord, []string{collection, id}}, true
		case item.Method == http.MethodDelete:
			return &batchAction{records.delete, routeRecord, []string{collection, id}}, true
		}
		return nil, false
	}
	switch item.Method {
	case http.MethodPost:
		return &batchAction{records.create, routeRecords, []string{collection}}, true
	case http.MethodPut:
		if id := formString(item.Body, "id"); id != "" && h.exists(ctx, collection, id) {
			u.Path += "/" + id
			item.Method, item.URL = http.MethodPatch, u.String()
			return &batchAction{records.update, routeRecord, []string{collection, id}}, true
		}
		item.Method = http.MethodPost
		return &batchAction{records.create, routeRecords, []string{collection}}, true
	}
	return nil, false
}

// exists reports whether the record is stored, rules aside, as
// PocketBase's upsert checks it.
func (h batchHandlers) exists(ctx context.Context, collection, id string) bool {
	col, err := h.app.Collections().Find(collection)
	if err != nil {
		return false
	}
	_, err = h.app.Records().Find(ctx, col, id)
	return err == nil
}

// itemRequest builds the request of an item: the outer request's headers
// with the item's set over them, and the item's body as JSON.
func itemRequest(ctx context.Context, outer *http.Request, item *batchItem) (*http.Request, error) {
	body := item.Body
	if body == nil {
		body = map[string]any{}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, item.Method, item.URL, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	r.Header = outer.Header.Clone()
	for k, v := range item.Headers {
		r.Header.Set(k, v)
	}
	r.Header.Del(echo.HeaderContentLength)
	r.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	r.RequestURI = r.URL.RequestURI()
	r.Host, r.RemoteAddr, r.TLS = outer.Host, outer.RemoteAddr, outer.TLS
	r.Proto, r.ProtoMajor, r.ProtoMinor = outer.Proto, outer.ProtoMajor, outer.ProtoMinor
	return r, nil
}

// itemRecorder captures the response of one item.
type itemRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *itemRecorder) Header() http.Header { return r.header }

func (r *itemRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *itemRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
