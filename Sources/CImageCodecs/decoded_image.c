#include "decoded_image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VLCodecStatus vl_check_dimensions(const char *format, size_t width, size_t height, size_t max_pixels,
                                  char *message) {
    if (width == 0 || height == 0) {
        snprintf(message, 256, "%s header gives an empty image (%zux%zu)", format, width, height);
        return VL_CODEC_CORRUPT;
    }
    if (width > max_pixels / height) {
        snprintf(message, 256, "%s dimensions %zux%zu (%llu pixels) exceed the limit of %zu pixels",
                 format, width, height, (unsigned long long)width * height, max_pixels);
        return VL_CODEC_TOO_LARGE;
    }
    if (width > (size_t)PTRDIFF_MAX / 3 / height) {
        snprintf(message, 256, "%s dimensions %zux%zu need more bytes than memory can address",
                 format, width, height);
        return VL_CODEC_UNSUPPORTED;
    }
    return VL_CODEC_OK;
}

int vl_keep_exif(VLDecodedImage *out, const unsigned char *tiff, size_t size) {
    if (out->exif || size == 0) return 1;
    out->exif = malloc(size);
    if (!out->exif) return 0;
    memcpy(out->exif, tiff, size);
    out->exif_size = size;
    return 1;
}

void vl_discard_decoded(VLDecodedImage *out) {
    free(out->pixels);
    free(out->exif);
    out->pixels = NULL;
    out->exif = NULL;
    out->exif_size = 0;
    out->width = 0;
    out->height = 0;
}
