#ifndef VL_DECODED_IMAGE_H
#define VL_DECODED_IMAGE_H

#include "CImageCodecs.h"

/// What both decoders check and keep, in one place.

/// VL_CODEC_OK when a width x height RGB image may be allocated: neither side is zero, it has
/// at most `max_pixels` pixels, and its byte count fits a signed size (Swift's Int). Otherwise
/// the status to return, with the reason written to `message` (256 bytes).
VLCodecStatus vl_check_dimensions(const char *format, size_t width, size_t height, size_t max_pixels,
                                  char *message);

/// Copies an EXIF block into `out->exif`; keeps the first one only. Returns 0 when out of memory.
int vl_keep_exif(VLDecodedImage *out, const unsigned char *tiff, size_t size);

/// Frees what a failed decode had put in `out`.
void vl_discard_decoded(VLDecodedImage *out);

#endif
