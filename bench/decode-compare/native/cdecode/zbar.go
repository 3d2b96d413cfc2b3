package cdecode

/*
#cgo LDFLAGS: -lzbar
#include <zbar.h>

// sentinel_zbar_read scans an 8-bit grey image of width x height pixels
// (rows packed) for a QR code, copies the first one's bytes into out and
// returns their number, or -1 when there is none and -3 when it does not
// fit in out.
static int sentinel_zbar_read(zbar_image_scanner_t *sc, const unsigned char *pix, int width, int height,
	unsigned char *out, int cap)
{
	zbar_image_t *img = zbar_image_create();
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, width, height);
	zbar_image_set_data(img, pix, (unsigned long)width * height, NULL);
	int ret = -1;
	if (zbar_scan_image(sc, img) > 0) {
		for (const zbar_symbol_t *s = zbar_image_first_symbol(img); s; s = zbar_symbol_next(s)) {
			if (zbar_symbol_get_type(s) != ZBAR_QRCODE)
				continue;
			unsigned int n = zbar_symbol_get_data_length(s);
			if (n > (unsigned int)cap) {
				ret = -3;
				break;
			}
			const char *data = zbar_symbol_get_data(s);
			for (unsigned int i = 0; i < n; i++)
				out[i] = (unsigned char)data[i];
			ret = (int)n;
			break;
		}
	}
	zbar_image_destroy(img);
	return ret;
}

static zbar_image_scanner_t *sentinel_zbar_scanner(void)
{
	zbar_image_scanner_t *sc = zbar_image_scanner_create();
	if (!sc)
		return NULL;
	zbar_image_scanner_set_config(sc, 0, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	// The payload's bytes as encoded, not converted to text by a guessed
	// character set.
	zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1);
	return sc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"sentinel/bench/decode-compare/internal/compare"
)

// ZBar makes a ZBar decoder: an image scanner with only QR codes enabled,
// returning the payload's bytes (ZBAR_CFG_BINARY), otherwise with
// ZBar's defaults (those zbarimg uses).
var ZBar = compare.Factory{Name: "zbar", New: newZBar}

func newZBar() (compare.Decoder, error) {
	sc := C.sentinel_zbar_scanner()
	if sc == nil {
		return compare.Decoder{}, errors.New("zbar: cannot create an image scanner")
	}
	out := make([]byte, maxPayload)
	var packed []byte
	var major, minor, patch C.uint
	C.zbar_version(&major, &minor, &patch)
	return compare.Decoder{
		Name:    "zbar",
		Version: fmt.Sprintf("%d.%d.%d", major, minor, patch),
		Decode: func(img *image.Gray) ([]byte, error) {
			w, h := img.Rect.Dx(), img.Rect.Dy()
			if w == 0 || h == 0 {
				return nil, errNoCode
			}
			pix := img.Pix
			if img.Stride != w {
				// ZBar wants the rows packed.
				packed = packed[:0]
				for y := range h {
					packed = append(packed, img.Pix[y*img.Stride:y*img.Stride+w]...)
				}
				pix = packed
			}
			n := C.sentinel_zbar_read(sc, (*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h),
				(*C.uchar)(unsafe.Pointer(&out[0])), C.int(len(out)))
			switch {
			case n >= 0:
				return append([]byte(nil), out[:n]...), nil
			case n == -3:
				return nil, fmt.Errorf("zbar: payload longer than %d bytes", maxPayload)
			}
			return nil, errNoCode
		},
		Close: func() { C.zbar_image_scanner_destroy(sc) },
	}, nil
}
