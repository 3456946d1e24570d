package filesystem

import (
	"io"
	"path"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// inlineTypes are served inline; anything else (HTML, SVG, scripts) is an
// attachment so that uploads never run in the site's origin. PocketBase's
// list.
var inlineTypes = []string{
	"image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp", "image/x-icon", "image/bmp",
	"video/webm", "video/mp4", "video/3gpp", "video/quicktime", "video/x-ms-wmv",
	"audio/basic", "audio/aiff", "audio/mpeg", "audio/midi", "audio/mp3", "audio/wave",
	"audio/wav", "audio/x-wav", "audio/x-mpeg", "audio/x-m4a", "audio/aac",
	"application/pdf", "application/x-pdf",
}

// imageTypes are the types thumbnails are made of.
var imageTypes = []string{"image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp"}

// extensionTypes override sniffing for types that content cannot tell
// apart from plain text or XML.
var extensionTypes = map[string]string{
	".svg": "image/svg+xml",
	".css": "text/css",
	".js":  "text/javascript",
	".mjs": "text/javascript",
}

// ContentInfo is what serving a file needs to know of its type.
type ContentInfo struct {
	// Type is the Content-Type to send.
	Type string
	// Inline reports whether browsers may show the file in place.
	Inline bool
	// Image reports whether thumbnails can be made of it.
	Image bool
}

// Sniff reads the first bytes of r, rewinds it, and tells the content
// type of the file called name.
func Sniff(r io.ReadSeeker, name string) (ContentInfo, error) {
	mt, err := mimetype.DetectReader(r)
	if err != nil {
		return ContentInfo{}, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return ContentInfo{}, err
	}
	sniffed := mt.String()
	info := ContentInfo{
		Type:   sniffed,
		Inline: slices.Contains(inlineTypes, sniffed),
		Image:  slices.Contains(imageTypes, sniffed),
	}
	if t, ok := extensionTypes[strings.ToLower(path.Ext(name))]; ok {
		info.Type = t
	}
	return info, nil
}

// MatchesType reports whether mt is one of types (aliases included).
func MatchesType(mt *mimetype.MIME, types []string) bool {
	return slices.ContainsFunc(types, mt.Is)
}
