package news

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
)

// Image limits: the decoded file and its pixel size.
const (
	MaxImageBytes = 2 << 20
	MaxImageSide  = 4096
)

// Image is a post's picture as stored.
type Image struct {
	Type          string // image/jpeg or image/png
	Data          []byte
	Width, Height int
}

// checkImage accepts a JPEG or PNG of at most MaxImageBytes and
// MaxImageSide pixels a side, and decodes it fully, so a file that only
// starts like an image is refused. The size is read from the header before
// decoding, so a small file claiming huge dimensions allocates nothing.
func checkImage(b []byte) (*Image, error) {
	if len(b) == 0 {
		return nil, invalid("image", "is empty")
	}
	if len(b) > MaxImageBytes {
		return nil, invalid("image", "must be at most %d bytes, not %d", MaxImageBytes, len(b))
	}
	var typ string
	var decode func([]byte) error
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		typ = "image/png"
		decode = func(b []byte) error { _, err := png.Decode(bytes.NewReader(b)); return err }
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		typ = "image/jpeg"
		decode = func(b []byte) error { _, err := jpeg.Decode(bytes.NewReader(b)); return err }
	default:
		return nil, invalid("image", "must be a JPEG or PNG")
	}
	var cfg image.Config
	var err error
	if typ == "image/png" {
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	} else {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	}
	if err != nil {
		return nil, invalid("image", "is not a readable %s", typ)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return nil, invalid("image", "must be at most %dx%d pixels, not %dx%d", MaxImageSide, MaxImageSide, cfg.Width, cfg.Height)
	}
	if err := decode(b); err != nil {
		return nil, invalid("image", "is not a readable %s", typ)
	}
	return &Image{Type: typ, Data: b, Width: cfg.Width, Height: cfg.Height}, nil
}
