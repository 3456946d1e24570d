package backups

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// Routes implements apis.RouteProvider: PocketBase's backups API. Every
// route but the download needs a superuser; the download takes a
// superuser's file token in ?token=, as PocketBase's does.
func (p *Plugin) Routes(g *echo.Group) {
	r := g.Group("/backups")
	r.GET("", p.list, apis.RequireSuperuser)
	r.POST("", p.create, apis.RequireSuperuser)
	r.POST("/upload", p.upload, apis.RequireSuperuser)
	r.GET("/:key", p.download)
	r.DELETE("/:key", p.remove, apis.RequireSuperuser)
	r.POST("/:key/restore", p.restore, apis.RequireSuperuser)
}

// keyParam returns the :key path parameter, unescaped (SDKs escape the
// "@" of automatic backups), or a 400 error when it cannot name a backup.
func keyParam(c echo.Context) (string, error) {
	key, err := url.PathUnescape(c.Param("key"))
	if err != nil || !validKey(key) {
		return "", core.Errorf(core.CodeInvalid, "Invalid backup key.")
	}
	return key, nil
}

func (p *Plugin) list(c echo.Context) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	items, err := p.List(c.Request().Context())
	if err != nil {
		return wrapInvalid(err, "Failed to retrieve backup items.")
	}
	return c.JSON(http.StatusOK, items)
}

// wrapInvalid turns an error that is not already a core.Error into a 400
// with message, as PocketBase answers failures of the backups storage.
func wrapInvalid(err error, message string) error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	return core.Wrap(err, core.CodeInvalid, message)
}

// transferTimeout bounds an upload or download of an archive, in place
// of the server's read and write timeouts, which suit API calls.
const transferTimeout = time.Hour

type createBody struct {
	Name string `json:"name" form:"name"`
}

func (p *Plugin) create(c echo.Context) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	if p.activeKey() != "" {
		return errBusy()
	}
	var body createBody
	if err := (&echo.DefaultBinder{}).BindBody(c, &body); err != nil {
		return core.Errorf(core.CodeInvalid, "An error occurred while loading the submitted data.")
	}
	ctx := c.Request().Context()
	if body.Name != "" {
		if err := p.checkName(ctx, "name", body.Name); err != nil {
			return err
		}
	}
	if err := p.Create(ctx, body.Name); err != nil {
		return wrapInvalid(err, "Failed to create backup.")
	}
	return c.NoContent(http.StatusNoContent)
}

// checkName validates a new backup's name: its format, and that no backup
// has it yet.
func (p *Plugin) checkName(ctx context.Context, field, name string) error {
	if len(name) > 150 || !namePattern.MatchString(name) {
		return core.Invalid("An error occurred while validating the submitted data.", map[string]core.FieldError{
			field: {Code: "validation_match_invalid", Message: "Must be in a valid format."},
		})
	}
	exists, err := p.exists(ctx, name)
	if err != nil || exists {
		return core.Invalid("An error occurred while validating the submitted data.", map[string]core.FieldError{
			field: {Code: "validation_backup_name_exists", Message: "The backup file name is invalid or already exists."},
		})
	}
	return nil
}

// unsafeChars are replaced in the names of uploaded backups.
var unsafeChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// uploadName turns an uploaded file's name into a backup name:
// "My Backup.zip" is stored as "my_backup.zip".
func uploadName(filename string) string {
	base := strings.ToLower(path.Base(strings.ReplaceAll(filename, "\\", "/")))
	base = strings.TrimSuffix(base, ".zip")
	base = strings.Trim(unsafeChars.ReplaceAllString(base, "_"), "_")
	if base == "" {
		base = "backup"
	}
	if len(base) > 140 {
		base = base[:140]
	}
	return base + ".zip"
}

func (p *Plugin) upload(c echo.Context) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	// Archives can take longer than the server's read timeout to arrive.
	_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(transferTimeout))
	fh, err := c.FormFile("file")
	if err != nil {
		return core.Invalid("An error occurred while validating the submitted data.", map[string]core.FieldError{
			"file": core.Required(),
		})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := checkUpload(f, fh); err != nil {
		return core.Invalid("An error occurred while validating the submitted data.", map[string]core.FieldError{
			"file": {Code: "validation_invalid_backup", Message: strings.TrimPrefix(err.Error(), errInvalidArchive.Error()+": ")},
		})
	}
	ctx := c.Request().Context()
	name := uploadName(fh.Filename)
	if err := p.checkName(ctx, "file", name); err != nil {
		return err
	}
	store, prefix, err := p.store()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	if err := uploadReader(ctx, store, prefix+name, f); err != nil {
		return wrapInvalid(err, "Failed to upload backup.")
	}
	return c.NoContent(http.StatusNoContent)
}

// checkUpload validates an uploaded file as a backup archive.
func checkUpload(f multipart.File, fh *multipart.FileHeader) error {
	if !strings.HasSuffix(strings.ToLower(fh.Filename), ".zip") {
		return fmt.Errorf("%w: the file must be a .zip archive", errInvalidArchive)
	}
	zr, err := zip.NewReader(f, fh.Size)
	if err != nil {
		return fmt.Errorf("%w: not a zip archive", errInvalidArchive)
	}
	return checkZip(zr)
}

func (p *Plugin) download(c echo.Context) error {
	ctx := c.Request().Context()
	rec, _, err := p.app.Auth().ParseToken(ctx, c.QueryParam("token"), core.TokenTypeFile)
	if err != nil || rec.Collection().Name != core.SuperusersCollectionName {
		return core.Errorf(core.CodeForbidden, "Insufficient permissions to access the resource.")
	}
	if !p.isSQLite() {
		return errPostgres()
	}
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	obj, err := p.open(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(transferTimeout))
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/zip")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", key))
	h.Set("Cache-Control", "no-store")
	http.ServeContent(c.Response(), c.Request(), key, obj.ModTime, obj)
	return nil
}

func (p *Plugin) remove(c echo.Context) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	if err := p.Delete(c.Request().Context(), key); err != nil {
		return wrapInvalid(err, "Invalid or already deleted backup file.")
	}
	return c.NoContent(http.StatusNoContent)
}

func (p *Plugin) restore(c echo.Context) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	if err := p.Restore(c.Request().Context(), key); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

var (
	_ core.Plugin        = (*Plugin)(nil)
	_ apis.RouteProvider = (*Plugin)(nil)
)
