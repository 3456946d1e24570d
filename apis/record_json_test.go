package apis

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// stdJSON is what c.JSON writes for v.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	strs := []string{"", "plain", `quo"te\back`, "<b>&amp;</b>", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
		"héllo wörld ✓ 🎉", "bad \xff\xfe utf8", "sep \u2028 \u2029", "\xed\xa0\x80 surrogate", "trunc \xe2\x82"}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 123456789, 1e20, 1e21, 1.5e300, -2.5e-300, 5e-324, math.MaxFloat64}
	values := []any{nil, true, false, 0, 42, int64(-7), []string(nil), []string{}, []string{"a", "<"},
		map[string]any(nil), map[string]any{}, []map[string]any(nil), []any{}, []any{1.5, "x", nil},
		json.RawMessage(`{"b": 1, "a": "<"}`), core.GeoPoint{Lon: 1.5, Lat: -2}, struct {
			A int `json:"a"`
		}{3}}
	for _, s := range strs {
		values = append(values, s, map[string]any{s: s})
	}
	for _, f := range floats {
		values = append(values, f, -f)
	}
	record := map[string]any{"id": "abc", "title": "<t>", "score": 19000.0, "tags": []string{"x"}, "ok": true,
		"data": json.RawMessage(`[1, 2]`), "expand": map[string]any{"author": map[string]any{"name": "Ann"},
			"comments_via_post": []map[string]any{{"body": "é"}}}}
	values = append(values, record, []map[string]any{record, {}},
		core.ListResult[map[string]any]{Items: []map[string]any{record}, Page: 2, PerPage: 30, TotalItems: -1, TotalPages: -1},
		&core.ListResult[map[string]any]{Items: []map[string]any{}, Page: 1, PerPage: 30},
		core.ListResult[map[string]any]{})
	for _, v := range values {
		got, ok := appendJSON(nil, v)
		if !ok {
			t.Fatalf("%#v: not encoded", v)
		}
		if want := stdJSON(t, v); !bytes.Equal(append(got, '\n'), want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, want)
		}
	}
}

func TestAppendJSONRandomValues(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		b := make([]byte, r.IntN(12))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		v := map[string]any{string(b): f, "n": float64(r.IntN(1 << 20)), "s": string(b)}
		got, _ := appendJSON(nil, v)
		if want := stdJSON(t, v); !bytes.Equal(append(got, '\n'), want) {
			t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
		}
	}
}

func TestAppendJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	t.Parallel()
	for _, v := range []any{math.NaN(), map[string]any{"x": math.Inf(1)}, []any{make(chan int)}} {
		if _, ok := appendJSON(nil, v); ok {
			t.Errorf("%#v: encoded", v)
		}
	}
}

func TestWriteJSONResponse(t *testing.T) {
	t.Parallel()
	e := echo.New()
	for _, target := range []string{"/", "/?pretty"} {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, target, nil), rec)
		v := map[string]any{"b": 1.0, "a": "<x>"}
		if err := writeJSON(c, http.StatusCreated, v); err != nil {
			t.Fatal(err)
		}
		want := httptest.NewRecorder()
		if err := e.NewContext(httptest.NewRequest(http.MethodGet, target, nil), want).JSON(http.StatusCreated, v); err != nil {
			t.Fatal(err)
		}
		if rec.Code != want.Code || rec.Body.String() != want.Body.String() || rec.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("%s: got %d %q %s, want %d %q %s", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body,
				want.Code, want.Header().Get("Content-Type"), want.Body)
		}
	}
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
	if err := writeJSON(c, http.StatusOK, map[string]any{"x": math.NaN()}); err == nil || !strings.Contains(err.Error(), "unsupported value") {
		t.Errorf("NaN: err = %v, want encoding/json's", err)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\u2028", "\xff", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
