// The C interface of the ZXing-C++ wrapper (zxing.cpp): ZXing-C++ 1.4,
// the version Debian 12 ships, has no C API of its own.

#include <stdint.h>

enum {
	SENTINEL_ZXING_NONE = -1,     // no QR code found
	SENTINEL_ZXING_ERROR = -2,    // ZXing-C++ threw an exception
	SENTINEL_ZXING_TOO_LONG = -3, // the payload does not fit in out
};

// sentinel_zxing_read reads one QR code from an 8-bit grey image of
// width x height pixels, rows stride bytes apart, with ZXing-C++'s default
// hints (try harder, rotations, downscaling; local-average binarizer).
// It copies the code's bytes (without character set conversion) into
// out and returns their number, or one of the negative values above.
int sentinel_zxing_read(const uint8_t *pix, int width, int height, int stride, uint8_t *out, int cap);
