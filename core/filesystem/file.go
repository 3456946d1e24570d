package filesystem

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"regexp"
	"strings"

	"github.com/gabriel-vasile/mimetype"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// File is a file to upload into a file field. Name is the name it will be
// stored under, generated from OriginalName by NewFile.
type File struct {
	Name         string
	OriginalName string
	Size         int64
	open         func() (io.ReadSeekCloser, error)
}

// NewFile returns an upload of size bytes named originalName whose content
// open returns (once per call, for sniffing and for storing).
func NewFile(originalName string, size int64, open func() (io.ReadSeekCloser, error)) *File {
	f := &File{OriginalName: originalName, Size: size, open: open}
	f.Name = NormalizeName(originalName, f.detectExtension)
	return f
}

// NewFileFromBytes returns an upload of b named name.
func NewFileFromBytes(b []byte, name string) *File {
	return NewFile(name, int64(len(b)), func() (io.ReadSeekCloser, error) {
		return nopCloser{bytes.NewReader(b)}, nil
	})
}

// NewFileFromMultipart returns the upload of a multipart file part.
func NewFileFromMultipart(fh *multipart.FileHeader) *File {
	return NewFile(fh.Filename, fh.Size, func() (io.ReadSeekCloser, error) { return fh.Open() })
}

// Open returns a reader of the file's content; the caller closes it.
func (f *File) Open() (io.ReadSeekCloser, error) {
	if f.open == nil {
		return nil, errors.New("filesystem: file has no content")
	}
	return f.open()
}

// ContentType sniffs the file's content type from its first bytes, e.g.
// "image/png" or "text/plain; charset=utf-8".
func (f *File) ContentType() (*mimetype.MIME, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return mimetype.DetectReader(r)
}

func (f *File) detectExtension() string {
	mt, err := f.ContentType()
	if err != nil {
		return ""
	}
	return mt.Extension()
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// Name limits, PocketBase's.
const (
	randomPartLength = 10
	minBaseLength    = 3
	maxBaseLength    = 100
	maxExtLength     = 20
)

var extInvalidChars = regexp.MustCompile(`[^\w.*\-+=#]+`)

// NormalizeName returns the stored name of an upload called original, as
// PocketBase builds it: the snake_case base name (padded with random
// characters when shorter than 3, cut at 100), "_", 10 random [a-z0-9]
// characters, then the extension (up to two parts, as in ".tar.gz")
// cleaned and lower-cased. With no extension in the name, detect (if not
// nil) supplies one from the content. "My Report.bin" becomes
// "my_report_xxxxxxxxxx.bin".
func NormalizeName(original string, detect func() string) string {
	ext := extension(original)
	base := snakeCase(strings.TrimSuffix(original, ext))
	ext = strings.ToLower(extInvalidChars.ReplaceAllString(ext, ""))
	if ext == "" && detect != nil {
		ext = strings.ToLower(detect())
	}
	if len(ext) > maxExtLength {
		ext = "." + ext[len(ext)-maxExtLength:]
	}
	switch {
	case len(base) < minBaseLength:
		base += randomString(randomPartLength)
	case len(base) > maxBaseLength:
		base = base[:maxBaseLength]
	}
	return base + "_" + randomString(randomPartLength) + ext
}

// extension returns name's extension with its dot, keeping a second one
// (".tar.gz"); "" when there is none.
func extension(name string) string {
	last := strings.LastIndex(name, ".")
	if last < 0 {
		return ""
	}
	if prev := strings.LastIndex(name[:last], "."); prev >= 0 {
		return name[prev:]
	}
	return name[last:]
}

// snakeCase splits s into runs of ASCII letters and digits, puts "_"
// between runs and before an upper-case letter that follows a
// non-upper-case one, and lower-cases the result: "My Report" and
// "myReport" both give "my_report".
func snakeCase(s string) string {
	var b strings.Builder
	words := strings.FieldsFunc(s, func(r rune) bool { return !isASCIIAlnum(r) })
	for _, w := range words {
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		for i := 0; i < len(w); i++ {
			if isUpper(w[i]) && i > 0 && !isUpper(w[i-1]) {
				b.WriteByte('_')
			}
			b.WriteByte(w[i])
		}
	}
	return strings.ToLower(b.String())
}

func isASCIIAlnum(r rune) bool {
	return r < 128 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func randomString(n int) string { return security.RandomString(n, security.IDAlphabet) }
