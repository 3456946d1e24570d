package filesystem

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/webp" // imaging decodes webp only with this registered
	"golang.org/x/sync/singleflight"
)

// thumbPattern is a thumb size: WxH with an optional t, b or f.
var thumbPattern = regexp.MustCompile(`^(\d+)x(\d+)([tbf]?)$`)

// ThumbSpec is a parsed thumb size.
type ThumbSpec struct {
	Width, Height int
	// Mode is "" (crop from the center), "t" (crop from the top), "b" (crop
	// from the bottom) or "f" (fit inside, no crop). With a zero width or
	// height the image is scaled keeping its aspect ratio and Mode is
	// ignored.
	Mode string
}

// ParseThumb parses a thumb size in PocketBase's formats: WxH, WxHt,
// WxHb, WxHf, 0xH and Wx0.
func ParseThumb(size string) (ThumbSpec, error) {
	m := thumbPattern.FindStringSubmatch(size)
	if m == nil {
		return ThumbSpec{}, errors.New("thumb size must be WxH, WxHt, WxHb or WxHf")
	}
	w, errW := strconv.Atoi(m[1])
	h, errH := strconv.Atoi(m[2])
	if errW != nil || errH != nil || w == 0 && h == 0 || w > maxThumbSide || h > maxThumbSide {
		return ThumbSpec{}, errors.New("invalid thumb dimensions")
	}
	return ThumbSpec{Width: w, Height: h, Mode: m[3]}, nil
}

// maxThumbSide bounds thumbnails, so a listed size cannot make the server
// allocate an absurd image.
const maxThumbSide = 10000

// maxSourcePixels bounds the images thumbnails are made of (50
// megapixels, about 200 MB decoded).
const maxSourcePixels = 50_000_000

// Resize returns img resized to the spec.
func (s ThumbSpec) Resize(img image.Image) *image.NRGBA {
	if s.Width == 0 || s.Height == 0 {
		return imaging.Resize(img, s.Width, s.Height, imaging.Linear)
	}
	switch s.Mode {
	case "f":
		return imaging.Fit(img, s.Width, s.Height, imaging.Linear)
	case "t":
		return imaging.Fill(img, s.Width, s.Height, imaging.Top, imaging.Linear)
	case "b":
		return imaging.Fill(img, s.Width, s.Height, imaging.Bottom, imaging.Linear)
	}
	return imaging.Fill(img, s.Width, s.Height, imaging.Center, imaging.Linear)
}

// CreateThumb makes the thumbnail of the image at src in the given size
// and stores it at dst, in the format dst's extension names (PNG for
// formats that cannot be encoded, such as webp). Animated images give
// their first frame.
func CreateThumb(ctx context.Context, s Store, src, dst, size string) error {
	spec, err := ParseThumb(size)
	if err != nil {
		return err
	}
	r, err := s.Open(ctx, src)
	if err != nil {
		return err
	}
	defer r.Close()
	// Refuse images whose pixels would not fit in memory before decoding
	// them: a small file can declare enormous dimensions.
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return err
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxSourcePixels {
		return errors.New("image too large for a thumbnail")
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	img, err := imaging.Decode(r, imaging.AutoOrientation(true))
	if err != nil {
		return err
	}
	format, err := imaging.FormatFromFilename(dst)
	if err != nil {
		format = imaging.PNG
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, spec.Resize(img), format); err != nil {
		return err
	}
	return s.Upload(ctx, dst, &buf)
}

// thumbTimeout bounds the making of one thumbnail, waiting included.
const thumbTimeout = time.Minute

// Thumbnailer makes thumbnails on demand: requests for the same one share
// a single run, and at most a fixed number run at once.
type Thumbnailer struct {
	group singleflight.Group
	slots chan struct{}
}

// NewThumbnailer returns a Thumbnailer running at most workers at once.
func NewThumbnailer(workers int) *Thumbnailer {
	return &Thumbnailer{slots: make(chan struct{}, max(1, workers))}
}

// Ensure makes the thumbnail of src at dst (see CreateThumb) unless dst
// exists already.
func (t *Thumbnailer) Ensure(ctx context.Context, s Store, src, dst, size string) error {
	_, err, _ := t.group.Do(dst, func() (any, error) {
		// Detached from the first requester, whose cancel would otherwise
		// fail every request waiting on the same run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), thumbTimeout)
		defer cancel()
		if ok, err := s.Exists(ctx, dst); err != nil || ok {
			return nil, err
		}
		select {
		case t.slots <- struct{}{}:
			defer func() { <-t.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return nil, CreateThumb(ctx, s, src, dst, size)
	})
	return err
}
