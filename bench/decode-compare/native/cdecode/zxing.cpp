// A C wrapper around ZXing-C++'s ReadBarcode, called from Go through cgo.

#include <cstring>
#include <exception>

#include <ZXing/ReadBarcode.h>

extern "C" {
#include "zxing.h"
}

extern "C" int sentinel_zxing_read(const uint8_t *pix, int width, int height, int stride, uint8_t *out, int cap)
{
	try {
		ZXing::ImageView view(pix, width, height, ZXing::ImageFormat::Lum, stride);
		ZXing::DecodeHints hints;
		hints.setFormats(ZXing::BarcodeFormat::QRCode);
		ZXing::Result r = ZXing::ReadBarcode(view, hints);
		if (!r.isValid())
			return SENTINEL_ZXING_NONE;
		const ZXing::ByteArray &b = r.bytes();
		if (b.size() > static_cast<size_t>(cap))
			return SENTINEL_ZXING_TOO_LONG;
		std::memcpy(out, b.data(), b.size());
		return static_cast<int>(b.size());
	} catch (const std::exception &) {
		return SENTINEL_ZXING_ERROR;
	} catch (...) {
		return SENTINEL_ZXING_ERROR;
	}
}
