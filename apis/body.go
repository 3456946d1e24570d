package apis

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// errLoadBody is PocketBase's error for a body that cannot be read.
func errLoadBody(err error) error {
	return core.Wrap(err, core.CodeInvalid, "An error occurred while loading the submitted data.")
}

// bodyReaders read the body of a record write by media type: JSON
// objects, url-encoded forms and multipart forms (whose "@jsonPayload"
// parts and files mergeMultipart adds), as PocketBase accepts them. The
// rule-bypass matrix sends a body in each.
var bodyReaders = map[string]func(*http.Request) (map[string]any, error){
	echo.MIMEApplicationJSON: readJSONBody,
	echo.MIMEApplicationForm: readFormBody,
	echo.MIMEMultipartForm:   readFormBody,
}

// bindForm reads a request body into a map of field values (see
// bodyReaders). An empty body is an empty object; any other content type,
// malformed JSON or JSON that is not an object is a 400.
func bindForm(c echo.Context) (map[string]any, error) {
	req := c.Request()
	if req.ContentLength == 0 {
		return map[string]any{}, nil
	}
	mediaType, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	read, ok := bodyReaders[mediaType]
	if !ok {
		return nil, core.Errorf(core.CodeInvalid, "Unsupported Content-Type.")
	}
	return read(req)
}

func readJSONBody(req *http.Request) (map[string]any, error) {
	out := map[string]any{}
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, readError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil || out == nil {
		return nil, errLoadBody(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errLoadBody(errors.New("data after the JSON object"))
	}
	return out, nil
}

func readFormBody(req *http.Request) (map[string]any, error) {
	// ParseForm first: ParseMultipartForm drops its errors for
	// url-encoded bodies.
	if err := req.ParseForm(); err != nil {
		return nil, readError(err)
	}
	if err := req.ParseMultipartForm(32 << 20); err != nil && err != http.ErrNotMultipart {
		return nil, readError(err)
	}
	out := map[string]any{}
	// PostForm, not Form: query parameters are not part of the body.
	for k, vs := range req.PostForm {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	if err := mergeMultipart(out, req.MultipartForm); err != nil {
		return nil, err
	}
	return out, nil
}

// readError tells a body over the size limit (413) from other read errors.
func readError(err error) error {
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	if errors.As(err, &mbe) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) {
		return core.Wrap(err, core.CodeTooLarge, "")
	}
	return errLoadBody(err)
}

// formString returns a field as a string: strings as they are, numbers and
// booleans formatted, anything else (arrays, objects) as "", a coercion in
// line with PocketBase's loose binding.
func formString(form map[string]any, key string) string {
	switch v := form[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case []string:
		if len(v) > 0 {
			return v[len(v)-1]
		}
	}
	return ""
}
