package apis

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
	"github.com/labstack/echo/v4"
)

type fileHandlers struct{ app *core.App }

func registerFileRoutes(g *echo.Group, app *core.App) {
	h := fileHandlers{app}
	g.POST("/files/token", h.token)
	g.GET("/files/:collection/:recordId/:filename", h.download)
	g.HEAD("/files/:collection/:recordId/:filename", h.download)
}

// token issues a short-lived file token for protected files to any
// authenticated record; guests get a 401.
func (h fileHandlers) token(c echo.Context) error {
	rec := authRecord(c)
	if rec == nil {
		return errUnauthorized()
	}
	token, err := h.app.Auth().NewToken(rec, core.TokenTypeFile, 0, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"token": token})
}

// download streams a record's file, or a thumbnail of it, with
// PocketBase's headers. Range and conditional requests are handled by
// http.ServeContent.
func (h fileHandlers) download(c echo.Context) error {
	col, err := h.app.Collections().Find(c.Param("collection"))
	if err != nil {
		return core.Errorf(core.CodeNotFound, "")
	}
	q := core.FileQuery{Thumb: c.QueryParam("thumb"), Token: c.QueryParam("token")}
	f, err := h.app.Records().OpenFile(c.Request().Context(), col, c.Param("recordId"), c.Param("filename"), q)
	if err != nil {
		return err
	}
	defer f.Close()

	disposition := "attachment"
	if download, _ := strconv.ParseBool(c.QueryParam("download")); f.Inline && !download {
		disposition = "inline"
	}
	cache := "max-age=2592000, stale-while-revalidate=86400"
	if f.Protected {
		cache = "private, " + cache
	}
	hdr := c.Response().Header()
	// Uploaded files may be embedded anywhere; the sandboxing CSP keeps
	// them from running in this origin.
	hdr.Del(echo.HeaderXFrameOptions)
	hdr.Set(echo.HeaderContentDisposition, mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}))
	hdr.Set(echo.HeaderContentType, f.Type)
	hdr.Set(echo.HeaderContentSecurityPolicy, "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	hdr.Set("Cache-Control", cache)
	http.ServeContent(c.Response(), c.Request(), f.Name, f.ModTime, f)
	return nil
}

// mergeMultipart completes a multipart body: the JSON objects of
// "@jsonPayload" parts (how the SDKs send the other fields along with
// files) are merged in, and each file part becomes a *filesystem.File
// under its key. For a plain key, names sent with the same key come
// first, so that kept files and new uploads can be set together.
func mergeMultipart(out map[string]any, form *multipart.Form) error {
	payloads := stringsOf(out["@jsonPayload"])
	delete(out, "@jsonPayload")
	for _, raw := range payloads {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return errLoadBody(err)
		}
		for k, v := range obj {
			out[k] = v
		}
	}
	if form == nil {
		return nil
	}
	for key, headers := range form.File {
		var values []any
		if !strings.HasPrefix(key, "+") && !strings.HasSuffix(key, "+") && !strings.HasSuffix(key, "-") {
			for _, name := range stringsOf(out[key]) {
				values = append(values, name)
			}
		}
		for _, fh := range headers {
			values = append(values, filesystem.NewFileFromMultipart(fh))
		}
		out[key] = values
	}
	return nil
}

// stringsOf returns the strings of a form or JSON value: one or a list.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
