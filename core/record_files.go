package core

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// DefaultFileMaxSize is the per-file limit of a file field whose maxSize
// is 0, PocketBase's 5 MiB.
const DefaultFileMaxSize int64 = 5 << 20

// FileMaxSize is the largest file a file field accepts.
func FileMaxSize(f *Field) int64 {
	if f.Options.MaxSize > 0 {
		return f.Options.MaxSize
	}
	return DefaultFileMaxSize
}

// alwaysAllowedThumb is the thumb size PocketBase serves for every image,
// listed in the field or not (the dashboard's previews use it).
const alwaysAllowedThumb = "100x100"

// fileState is the App's file storage: the local store, the S3 store of
// the current settings (see fileStore) and the thumbnail workers.
type fileState struct {
	local filesystem.Store

	mu sync.Mutex // serializes building an S3 store
	s3 atomic.Pointer[s3Store]

	thumbs *filesystem.Thumbnailer
}

// WithFileStore makes the App keep record files in s instead of the local
// disk (<data_dir>/storage) while S3 is disabled in the settings; enabling
// settings.s3 still moves them to S3. The App closes s on Shutdown.
func WithFileStore(s filesystem.Store) Option { return func(a *App) { a.files.local = s } }

// Files returns the store of record files under the current settings (S3
// when settings.s3 is enabled, the local store otherwise), once the App is
// bootstrapped. Keys are "<collectionId>/<recordId>/<filename>". Call it
// for each use rather than keeping its result: the settings may change.
func (a *App) Files() filesystem.Store { return a.fileStore() }

// openFiles opens the local store unless one was given.
func (a *App) openFiles() error {
	a.files.thumbs = filesystem.NewThumbnailer(max(2, runtime.NumCPU()))
	if a.files.local != nil {
		return nil
	}
	s, err := filesystem.NewLocal(filepath.Join(a.cfg.DataDir, "storage"))
	if err != nil {
		return fmt.Errorf("open file storage: %w", err)
	}
	a.files.local = s
	return nil
}

func (a *App) closeFiles() {
	if a.files.local != nil {
		_ = a.files.local.Close()
	}
	if cur := a.files.s3.Swap(nil); cur != nil {
		_ = cur.store.Close()
	}
}

// fileKey is where a record's file is stored.
func fileKey(collectionID, recordID, name string) string {
	return collectionID + "/" + recordID + "/" + name
}

// thumbKey is where a thumbnail of a record's file is cached.
func thumbKey(collectionID, recordID, name, size string) string {
	return fileKey(collectionID, recordID, "thumbs_"+name) + "/" + size + "_" + name
}

// fileEntry is one value of a file field being edited: a stored name, or
// an upload (whose Name is the name it will get).
type fileEntry struct {
	name   string
	upload *filesystem.File
}

// fileChanges are the file-field edits of one create or update: the
// uploads to store before the row is written, and the keys stored so far
// (deleted again if the transaction fails).
type fileChanges struct {
	uploads  map[string][]*filesystem.File // by field name
	invalid  map[string][]string           // submitted names the record does not have
	uploaded []string
	target   filesystem.Store // where uploaded went, should the settings change meanwhile
}

// applyFiles applies the file fields of a resolved body (see
// resolveBody) to rec: each holds the field's new list of stored names and
// uploads. A single-file field keeps the last value.
func (s *RecordService) applyFiles(rec *Record, body map[string]any) *fileChanges {
	ch := &fileChanges{uploads: map[string][]*filesystem.File{}, invalid: map[string][]string{}}
	for _, key := range bodyKeys(body) {
		if f := rec.collection.Field(key); f != nil && f.HoldsFiles() {
			ch.assign(rec, f, fileEntriesOf(body[key]))
		}
	}
	return ch
}

// assign sets f's value on rec from the edited list, noting uploads and
// names that the stored record does not have.
func (ch *fileChanges) assign(rec *Record, f *Field, list []fileEntry) {
	list = uniqueEntries(list)
	if !f.IsMultiple() && len(list) > 1 {
		list = list[len(list)-1:]
	}
	old := valuesOf(rec.Original(f.Name))
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.name
		switch {
		case e.upload != nil:
			ch.uploads[f.Name] = append(ch.uploads[f.Name], e.upload)
		case !slices.Contains(old, e.name):
			ch.invalid[f.Name] = append(ch.invalid[f.Name], e.name)
		}
	}
	rec.data[f.Name] = normalize(f, names)
}

func namedEntries(names []string) []fileEntry {
	out := make([]fileEntry, len(names))
	for i, n := range names {
		out[i] = fileEntry{name: n}
	}
	return out
}

// fileEntriesOf reads a submitted file-field value: uploads, names, lists
// of either, or a JSON array of names in a string.
func fileEntriesOf(v any) []fileEntry {
	switch x := v.(type) {
	case *filesystem.File:
		if x == nil {
			return nil
		}
		return []fileEntry{{name: x.Name, upload: x}}
	case []*filesystem.File:
		var out []fileEntry
		for _, f := range x {
			out = append(out, fileEntriesOf(f)...)
		}
		return out
	case []any:
		var out []fileEntry
		for _, e := range x {
			out = append(out, fileEntriesOf(e)...)
		}
		return out
	}
	return namedEntries(toStrings(v))
}

// holdsUpload reports whether a submitted value carries an upload, which
// only file fields take.
func holdsUpload(v any) bool {
	return slices.ContainsFunc(fileEntriesOf(v), func(e fileEntry) bool { return e.upload != nil })
}

func uniqueEntries(in []fileEntry) []fileEntry {
	out := make([]fileEntry, 0, len(in))
	for _, e := range in {
		if e.name != "" && !slices.ContainsFunc(out, func(o fileEntry) bool { return o.name == e.name }) {
			out = append(out, e)
		}
	}
	return out
}

// validate adds the file fields' errors to errs, with PocketBase's codes:
// names the record does not have, too many files, and per upload its size
// and sniffed content type.
func (ch *fileChanges) validate(rec *Record, errs map[string]FieldError) {
	for _, f := range rec.collection.Fields {
		if !f.HoldsFiles() {
			continue
		}
		if fe, ok := ch.validateField(rec, f); !ok {
			errs[f.Name] = fe
		}
	}
}

func (ch *fileChanges) validateField(rec *Record, f *Field) (FieldError, bool) {
	o := f.Options
	if bad := ch.invalid[f.Name]; len(bad) > 0 {
		return fe("validation_invalid_file", "Invalid new files: %v.", bad)
	}
	maxSelect := max(1, o.MaxSelect)
	if len(valuesOf(rec.data[f.Name])) > maxSelect {
		return fe("validation_too_many_files", "The maximum allowed files is %d", maxSelect)
	}
	maxSize := FileMaxSize(f)
	for _, up := range ch.uploads[f.Name] {
		if up.Size > maxSize {
			return fe("validation_file_size_limit", "Failed to upload %q - the maximum allowed file size is %d bytes.", up.OriginalName, maxSize)
		}
		if len(o.MimeTypes) == 0 {
			continue
		}
		mt, err := up.ContentType()
		if err != nil {
			return fe("validation_invalid_mime_type", "Failed to upload %q due to unsupported file type.", up.OriginalName)
		}
		if !filesystem.MatchesType(mt, o.MimeTypes) {
			return fe("validation_invalid_mime_type", "%q mime type must be one of: %s.", up.Name, strings.Join(o.MimeTypes, ", "))
		}
	}
	return FieldError{}, true
}

// upload stores the uploads that rec still holds (a hook may have dropped
// some). It runs inside the transaction, before the row is written.
func (ch *fileChanges) upload(ctx context.Context, app *App, rec *Record) error {
	for fieldName, files := range ch.uploads {
		kept := valuesOf(rec.data[fieldName])
		for _, up := range files {
			if !slices.Contains(kept, up.Name) {
				continue
			}
			if err := ch.store(ctx, app, fileKey(rec.collection.ID, rec.ID(), up.Name), up); err != nil {
				return fmt.Errorf("upload %s: %w", up.Name, err)
			}
		}
	}
	return nil
}

func (ch *fileChanges) store(ctx context.Context, app *App, key string, up *filesystem.File) error {
	if ch.target == nil {
		ch.target = app.fileStore()
	}
	if ch.target == nil {
		return errors.New("file storage is not open")
	}
	r, err := up.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ch.target.Upload(ctx, key, r); err != nil {
		return err
	}
	ch.uploaded = append(ch.uploaded, key)
	return nil
}

// discard deletes what upload stored, after the transaction failed. A
// nil ch (the write failed before files were looked at) does nothing.
func (ch *fileChanges) discard(ctx context.Context, app *App) {
	if ch == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, key := range ch.uploaded {
		if err := ch.target.Delete(ctx, key); err != nil && !errors.Is(err, filesystem.ErrNotFound) {
			app.logger.Warn("delete upload of a failed write", "key", key, "error", err)
		}
	}
	ch.uploaded = nil
}

// deleteReplacedFiles deletes, with their thumbnails, the files that an
// update removed from rec, once the transaction that ctx may carry has
// committed: until then a rollback could still need them.
func (s *RecordService) deleteReplacedFiles(ctx context.Context, rec *Record) {
	var names []string
	for _, f := range rec.collection.Fields {
		if !f.HoldsFiles() {
			continue
		}
		kept := valuesOf(rec.data[f.Name])
		for _, name := range valuesOf(rec.Original(f.Name)) {
			if !slices.Contains(kept, name) {
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 || s.app.fileStore() == nil {
		return
	}
	collectionID, recordID := rec.collection.ID, rec.ID()
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		ctx = context.WithoutCancel(ctx)
		for _, name := range names {
			s.deleteFile(ctx, collectionID, recordID, name)
		}
	})
}

func (s *RecordService) deleteFile(ctx context.Context, collectionID, recordID, name string) {
	store := s.app.fileStore()
	key := fileKey(collectionID, recordID, name)
	if err := store.Delete(ctx, key); err != nil && !errors.Is(err, filesystem.ErrNotFound) {
		s.app.logger.Warn("delete replaced file", "key", key, "error", err)
	}
	if err := filesystem.DeletePrefix(ctx, store, fileKey(collectionID, recordID, "thumbs_"+name)+"/"); err != nil {
		s.app.logger.Warn("delete thumbnails", "key", key, "error", err)
	}
}

// deleteRecordFiles deletes every file and thumbnail of the records a
// delete removed, once the transaction that ctx may carry has committed;
// deleted maps "<collectionId>/<recordId>" to whether the row was deleted
// (a hook may have skipped it).
func (s *RecordService) deleteRecordFiles(ctx context.Context, deleted map[string]bool) {
	var dirs []string
	for dir, ok := range deleted {
		collectionID, _, _ := strings.Cut(dir, "/")
		c, err := s.app.collections.Find(collectionID)
		if ok && err == nil && slices.ContainsFunc(c.Fields, func(f *Field) bool { return f.HoldsFiles() }) {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) == 0 || s.app.fileStore() == nil {
		return
	}
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		ctx = context.WithoutCancel(ctx)
		for _, dir := range dirs {
			if err := filesystem.DeletePrefix(ctx, s.app.fileStore(), dir+"/"); err != nil {
				s.app.logger.Warn("delete files of a deleted record", "record", dir, "error", err)
			}
		}
	})
}

// fileFieldOf returns the file field of rec that lists name, or nil.
func fileFieldOf(rec *Record, name string) *Field {
	for _, f := range rec.collection.Fields {
		if f.HoldsFiles() && slices.Contains(valuesOf(rec.data[f.Name]), name) {
			return f
		}
	}
	return nil
}

// thumbAllowed reports whether size may be served for f: the sizes the
// field lists plus 100x100.
func thumbAllowed(f *Field, size string) bool {
	return size == alwaysAllowedThumb || slices.Contains(f.Options.Thumbs, size)
}

// FileQuery is what a download asks for beyond the file itself.
type FileQuery struct {
	// Thumb is a thumb size such as "100x100"; sizes the field does not
	// list, and files that are not images, serve the original.
	Thumb string
	// Token is a file token, needed for protected files.
	Token string
}

// ServedFile is an open stored file and how to send it. Close it.
type ServedFile struct {
	*filesystem.Object
	filesystem.ContentInfo
	// Name is the served name (a thumbnail's is "<size>_<filename>").
	Name string
	// Protected reports a protected field's file, not for shared caches.
	Protected bool
}

// OpenFile opens the file called filename of record id of c for download,
// or a thumbnail of it (made once, then kept in the store). Files of
// protected fields need a file token, or a view rule that lets guests
// see the record; anything missing or refused is not found. The view rule
// does not apply to other files: their random names are their protection.
func (s *RecordService) OpenFile(ctx context.Context, c *Collection, id, filename string, q FileQuery) (*ServedFile, error) {
	store := s.app.fileStore()
	if c.IsView() || store == nil {
		return nil, errNotFound() // TODO: serve view collections' files from their source records
	}
	rec, err := s.Find(ctx, c, id)
	if err != nil {
		return nil, err
	}
	f := fileFieldOf(rec, filename)
	if f == nil {
		return nil, errNotFound()
	}
	if f.Options.Protected {
		ok, err := s.canReadProtected(ctx, rec, q.Token, RequestFrom(ctx))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errNotFound()
		}
	}
	key := fileKey(c.ID, rec.ID(), filename)
	served, err := openStored(ctx, store, key, filename)
	if err != nil {
		return nil, err
	}
	served.Protected = f.Options.Protected
	if q.Thumb == "" || !served.Image || !thumbAllowed(f, q.Thumb) {
		return served, nil
	}
	thumb := thumbKey(c.ID, rec.ID(), filename, q.Thumb)
	if err := s.app.files.thumbs.Ensure(ctx, store, key, thumb, q.Thumb); err != nil {
		s.app.logger.Warn("thumbnail failed, serving the original", "key", key, "thumb", q.Thumb, "error", err)
		return served, nil
	}
	t, err := openStored(ctx, store, thumb, q.Thumb+"_"+filename)
	if err != nil {
		return served, nil
	}
	served.Close()
	t.Protected = served.Protected
	return t, nil
}

func openStored(ctx context.Context, store filesystem.Store, key, name string) (*ServedFile, error) {
	obj, err := store.Open(ctx, key)
	if errors.Is(err, filesystem.ErrNotFound) {
		return nil, &Error{Code: CodeNotFound, Message: "The requested resource wasn't found.", Err: err}
	}
	if err != nil {
		return nil, err
	}
	info, err := filesystem.Sniff(obj, name)
	if err != nil {
		obj.Close()
		return nil, err
	}
	return &ServedFile{Object: obj, ContentInfo: info, Name: name}, nil
}

// canReadProtected decides whether a protected file may be read: a valid
// file token of a superuser reads everything; a valid file token of another
// auth record reads what the view rule lets that record see; without a
// valid token the view rule decides as for a guest, which is PocketBase's
// behaviour (a public view rule needs no token). The Authorization header
// plays no part.
func (s *RecordService) canReadProtected(ctx context.Context, rec *Record, token string, req *RequestInfo) (bool, error) {
	viewer := &RequestInfo{Method: req.Method, Query: req.Query, Headers: req.Headers, Context: "protectedFile", ClientIP: req.ClientIP}
	if viewer.Method == "" {
		viewer.Method = "GET"
	}
	if strings.TrimSpace(token) != "" {
		owner, _, err := s.app.Auth().ParseToken(ctx, token, TokenTypeFile)
		switch {
		case err == nil:
			viewer.SetAuth(owner)
			if viewer.IsSuperuser() {
				return true, nil
			}
		case !errors.Is(err, ErrInvalidToken):
			return false, err
		}
	}
	_, err := s.findWithRule(ctx, rec.collection, rec.ID(), "view", viewer)
	switch {
	case err == nil:
		return true, nil
	case ErrorCodeOf(err) == CodeNotFound || ErrorCodeOf(err) == CodeForbidden:
		return false, nil
	}
	return false, err
}
