package apitest

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// Response is a recorded response with typed decoders for the API's
// bodies.
type Response struct {
	*httptest.ResponseRecorder
}

// String is the body as text.
func (r *Response) String() string { return r.Body.String() }

// JSON decodes the body into dst, failing t if it is not JSON of that
// shape.
func (r *Response) JSON(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), dst); err != nil {
		t.Fatalf("apitest: status %d, body is not %T: %v: %s", r.Code, dst, err, r.Body.String())
	}
}

// Decode decodes a JSON body kept as text into dst, failing t if it is
// not JSON of that shape.
func Decode(t testing.TB, body string, dst any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), dst); err != nil {
		t.Fatalf("apitest: body is not %T: %v: %s", dst, err, body)
	}
}

// Record decodes a record body.
func (r *Response) Record(t testing.TB) Record { t.Helper(); return decodeAs[Record](t, r) }

// Records decodes a page of records.
func (r *Response) Records(t testing.TB) List[Record] {
	t.Helper()
	return decodeAs[List[Record]](t, r)
}

// Collection decodes a collection body.
func (r *Response) Collection(t testing.TB) Collection {
	t.Helper()
	return decodeAs[Collection](t, r)
}

// Collections decodes a page of collections.
func (r *Response) Collections(t testing.TB) List[Collection] {
	t.Helper()
	return decodeAs[List[Collection]](t, r)
}

// decodeAs decodes r's body as a T: Go has no generic methods.
func decodeAs[T any](t testing.TB, r *Response) T {
	t.Helper()
	var v T
	r.JSON(t, &v)
	return v
}

// Error decodes an error body after checking its shape (AssertErrorShape).
func (r *Response) Error(t testing.TB) ErrorBody {
	t.Helper()
	AssertErrorShape(t, r.ResponseRecorder)
	var e ErrorBody
	r.JSON(t, &e)
	return e
}

// List is a page of a list endpoint, PocketBase's envelope.
type List[T any] struct {
	Page       int `json:"page"`
	PerPage    int `json:"perPage"`
	TotalItems int `json:"totalItems"`
	TotalPages int `json:"totalPages"`
	Items      []T `json:"items"`
}

// Record is a record as the API shows it: its fields by name, with
// "expand" holding the expanded relations.
type Record map[string]any

// ID is the record's id.
func (r Record) ID() string { return r.String("id") }

// String is field name as a string ("" when absent or not a string).
func (r Record) String(name string) string {
	s, _ := r[name].(string)
	return s
}

// Expand returns the record expanded under relation name, or nil.
func (r Record) Expand(name string) Record {
	ex, _ := r["expand"].(map[string]any)
	m, _ := ex[name].(map[string]any)
	return m
}

// Collection is a collection as the API shows it. Fields keeps each
// field's whole JSON in All besides the keys every field type has.
type Collection struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	System     bool     `json:"system"`
	ListRule   *string  `json:"listRule"`
	ViewRule   *string  `json:"viewRule"`
	CreateRule *string  `json:"createRule"`
	UpdateRule *string  `json:"updateRule"`
	DeleteRule *string  `json:"deleteRule"`
	Fields     []Field  `json:"fields"`
	Indexes    []string `json:"indexes"`
	Created    string   `json:"created"`
	Updated    string   `json:"updated"`
}

// Field returns the field named name, or false.
func (c Collection) Field(name string) (Field, bool) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Field is one field of a Collection.
type Field struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	System      bool           `json:"system"`
	Hidden      bool           `json:"hidden"`
	Presentable bool           `json:"presentable"`
	Required    bool           `json:"required"`
	All         map[string]any `json:"-"`
}

// UnmarshalJSON decodes the common keys and keeps the whole object in
// All, for the options of each field type.
func (f *Field) UnmarshalJSON(b []byte) error {
	type plain Field // without this method
	if err := json.Unmarshal(b, (*plain)(f)); err != nil {
		return err
	}
	return json.Unmarshal(b, &f.All)
}

// ErrorBody is PocketBase's error body.
type ErrorBody struct {
	Status  int                   `json:"status"`
	Message string                `json:"message"`
	Data    map[string]FieldError `json:"data"`
}

// FieldError is one field's entry in an ErrorBody's data.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// AssertErrorShape checks PocketBase's error body: exactly status (equal
// to the response's), a non-empty message and an object data.
func AssertErrorShape(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %s", rec.Body.String())
	}
	if len(body) != 3 {
		keys := make([]string, 0, len(body))
		for k := range body {
			keys = append(keys, k)
		}
		t.Errorf("error body keys = %v, want data, message, status", keys)
	}
	var status int
	if err := json.Unmarshal(body["status"], &status); err != nil || status != rec.Code {
		t.Errorf("body status %s != %d", body["status"], rec.Code)
	}
	var msg string
	if err := json.Unmarshal(body["message"], &msg); err != nil || msg == "" {
		t.Errorf("body message %s", body["message"])
	}
	var data map[string]any
	if err := json.Unmarshal(body["data"], &data); err != nil || data == nil {
		t.Errorf("body data %s is not an object", body["data"])
	}
}

// Wrap gives a recorder from a scenario's check function the Response
// decoders.
func Wrap(rec *httptest.ResponseRecorder) *Response { return &Response{rec} }

// Grab returns a scenario check that decodes the body as a JSON object
// and stores its string key in dst ("" when absent), for a later step of
// the scenario: a created record's id, an otpId, a token.
func Grab(key string, dst *string) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		var body map[string]any
		Wrap(rec).JSON(t, &body)
		*dst, _ = body[key].(string)
	}
}
