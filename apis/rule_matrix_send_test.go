package apis_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

// upload is a file part of a write.
type upload struct{ key, filename string }

// write is a record write as the client composes it: one key with its
// value as JSON would carry it and as form fields would (each a string),
// plus file parts.
type write struct {
	method, path, key string
	token             string
	json              any
	form              []string
	uploads           []upload
	extra             map[string]any // other keys, JSON-encoded
}

// encode turns the cell's payload into a write.
func (c cell) encode(id string, names map[string]string) write {
	w := write{method: http.MethodPost, path: "/api/collections/" + c.collection + "/records", key: c.mod.Key(c.field)}
	if !c.create {
		w.method, w.path = http.MethodPatch, w.path+"/"+id
	}
	if c.k.number() {
		w.json, w.form = c.payload.n, []string{strconv.FormatFloat(c.payload.n, 'f', -1, 64)}
		return w
	}
	wires := []string{}
	for _, tok := range c.payload.toks {
		switch {
		case c.k.typ != core.FieldFile:
			wires = append(wires, c.k.wire(tok))
		case names[tok] != "":
			wires = append(wires, names[tok])
		default:
			w.uploads = append(w.uploads, upload{w.key, tok + tok + tok + "file.txt"})
		}
	}
	switch {
	case c.k.multi || len(wires) > 1:
		w.json = wires
	case len(wires) == 1:
		w.json = wires[0]
	default:
		w.json = ""
	}
	w.form = wires
	if len(wires) == 0 && len(w.uploads) == 0 {
		w.form = []string{""}
	}
	return w
}

// send writes the cell's payload the cell's way and returns the status and
// body of the write (of the item, for a batch).
func (e *matrixEnv) send(t *testing.T, c cell, id string, names map[string]string) (int, string) {
	t.Helper()
	return e.write(t, c.form, c.encode(id, names))
}

func (e *env) write(t *testing.T, f writeForm, w write) (int, string) {
	t.Helper()
	fields := map[string]any{}
	for k, v := range w.extra {
		fields[k] = v
	}
	if len(w.uploads) == 0 || len(w.form) > 0 {
		fields[w.key] = w.json
	}
	var body bytes.Buffer
	contentType := f.media
	path := w.path
	switch {
	case f.media == "":
		item := map[string]any{"method": w.method, "url": w.path, "body": fields}
		json.NewEncoder(&body).Encode(map[string]any{"requests": []any{item}})
		contentType, path, w.method = "application/json", "/api/batch", http.MethodPost
	case f.media == "application/json":
		json.NewEncoder(&body).Encode(fields)
	case f.media == "application/x-www-form-urlencoded":
		form := url.Values{}
		for k, v := range w.extra {
			form.Set(k, fmt.Sprint(v))
		}
		for _, v := range w.form {
			form.Add(w.key, v)
		}
		body.WriteString(form.Encode())
	default:
		mw := multipart.NewWriter(&body)
		if f.payload {
			raw, _ := json.Marshal(fields)
			mw.WriteField("@jsonPayload", string(raw))
		} else {
			for k, v := range w.extra {
				mw.WriteField(k, fmt.Sprint(v))
			}
			for _, v := range w.form {
				mw.WriteField(w.key, v)
			}
		}
		for _, up := range w.uploads {
			fw, _ := mw.CreateFormFile(up.key, up.filename)
			fw.Write([]byte("x"))
		}
		mw.Close()
		contentType = mw.FormDataContentType()
	}
	req := httptest.NewRequest(w.method, path, &body)
	req.Header.Set("Content-Type", contentType)
	if w.token != "" {
		req.Header.Set("Authorization", w.token)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	if f.media != "" {
		return rec.Code, rec.Body.String()
	}
	return batchItemOutcome(t, rec)
}

// batchItemOutcome is the status and body of the one item of a batch: its
// result, or the response under its index when it failed.
func batchItemOutcome(t *testing.T, rec *httptest.ResponseRecorder) (int, string) {
	t.Helper()
	if rec.Code == http.StatusOK {
		var results []struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &results); err != nil || len(results) != 1 {
			t.Fatalf("batch answer %s", rec.Body.String())
		}
		return results[0].Status, string(results[0].Body)
	}
	var failed struct {
		Data struct {
			Requests map[string]struct {
				Code     string `json:"code"`
				Response struct {
					Status int `json:"status"`
				} `json:"response"`
			} `json:"requests"`
		} `json:"data"`
	}
	json.Unmarshal(rec.Body.Bytes(), &failed)
	item, ok := failed.Data.Requests["0"]
	if rec.Code != http.StatusBadRequest || !ok || item.Code != "batch_request_failed" {
		t.Fatalf("batch answer %d %s", rec.Code, rec.Body.String())
	}
	return item.Response.Status, rec.Body.String()
}

// modifierSamples is a value of each field type, sent with a key modifier
// the type does not take.
var modifierSamples = map[string]any{
	core.FieldText:     "x",
	core.FieldNumber:   1,
	core.FieldBool:     true,
	core.FieldEmail:    "x@example.com",
	core.FieldURL:      "https://example.com",
	core.FieldEditor:   "<p>x</p>",
	core.FieldDate:     "2024-01-01 00:00:00.000Z",
	core.FieldAutodate: "2024-01-01 00:00:00.000Z",
	core.FieldSelect:   "A",
	core.FieldJSON:     `{"a":1}`,
	core.FieldFile:     "x.txt",
	core.FieldRelation: "aaaaaaaaaaaaaaa",
	core.FieldPassword: "Changed12345",
	core.FieldGeoPoint: `{"lon":1,"lat":2}`,
}

// TestUnsupportedModifierMatrix sends every key modifier a field type does
// not take, on every field of an auth collection holding one field of
// each type besides its own, in every write form, on create and update:
// each is a 400 naming the field, and nothing is written. (PocketBase
// ignores such keys; issue 15 asks for a 400.) Hidden fields are left
// out: as in PocketBase, a non-superuser's body drops them unread, so that
// a 400 would not reveal them.
func TestUnsupportedModifierMatrix(t *testing.T) {
	t.Parallel()
	e := newMatrixEnv(t)
	var fields []string
	for _, typ := range core.FieldTypes() {
		if typ == core.FieldPassword {
			continue // the auth collection's own
		}
		def := fmt.Sprintf(`{"name":"x_%s","type":%q}`, typ, typ)
		switch typ {
		case core.FieldSelect:
			def = `{"name":"x_select","type":"select","values":["A"]}`
		case core.FieldRelation:
			def = `{"name":"x_relation","type":"relation","collectionId":"targets"}`
		case core.FieldAutodate:
			def = `{"name":"x_autodate","type":"autodate","onCreate":true}`
		}
		fields = append(fields, def)
	}
	col := mustCollection(t, e.app, `{"name":"members","type":"auth","createRule":"","updateRule":"","viewRule":"",
		"fields":[`+strings.Join(fields, ",")+`]}`)
	seed, err := e.app.Records().Create(core.AsSystem(t.Context()),
		col, map[string]any{"email": "seed@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})

	if err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		rec := storedRecord(t, e.app, "members", seed.ID())
		b, _ := json.Marshal(rec.ExportFor(&core.RequestInfo{Actor: core.SystemActor()}))
		return string(b)
	}
	before := snapshot()
	// No password: hashing one per case would cost more than the matrix.
	signUp := map[string]any{"email": "new@example.com"}
	cases := 0
	for _, f := range col.Fields {
		if f.Hidden && f.Name != "password" {
			continue
		}
		for _, mod := range core.KeyModifiers() {
			if contains(core.FieldKeyModifiers(f.Type), mod) {
				continue
			}
			sample := modifierSamples[f.Type]
			for _, form := range matrixForms {
				for _, create := range []bool{true, false} {
					w := write{method: http.MethodPost, path: "/api/collections/members/records", key: mod.Key(f.Name),
						json: sample, form: []string{fmt.Sprint(sample)}}
					if create {
						w.extra = signUp
					} else {
						w.method, w.path = http.MethodPatch, w.path+"/"+seed.ID()
					}
					cases++
					t.Run(fmt.Sprintf("%s/%s/create=%v", form.name, w.key, create), func(t *testing.T) {
						status, body := e.write(t, form, w)
						want := `"` + f.Name + `":{"code":"validation_unsupported_modifier"`
						if status != http.StatusBadRequest || !strings.Contains(body, want) {
							t.Fatalf("%s = %d %s, want 400 with %s", w.key, status, body, want)
						}
					})
				}
			}
		}
	}
	if n := recordCount(t, e.app, "members"); n != 1 {
		t.Fatalf("%d members stored, want the seed alone", n)
	}
	if after := snapshot(); after != before {
		t.Fatalf("seed changed:\n%s\n%s", before, after)
	}
	t.Logf("unsupported-modifier matrix: %d cases on %s", cases, e.app.Dialect().Name())
}

func contains(mods []core.KeyModifier, m core.KeyModifier) bool {
	for _, x := range mods {
		if x == m {
			return true
		}
	}
	return false
}
