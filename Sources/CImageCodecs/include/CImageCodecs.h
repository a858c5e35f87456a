#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>

/// Thin C wrappers around libjpeg and libpng. Both libraries report fatal errors by
/// longjmp; every setjmp lives inside these functions, so a longjmp never crosses a
/// Swift frame. The functions never abort on bad data: they return a status and a message.

typedef enum {
    VL_CODEC_OK = 0,
    VL_CODEC_CORRUPT = 1,       ///< damaged or truncated data
    VL_CODEC_UNSUPPORTED = 2,   ///< valid file in a layout these wrappers cannot convert to RGB
    VL_CODEC_TOO_LARGE = 3,     ///< dimensions above the caller's pixel limit (and only that)
    VL_CODEC_NO_MEMORY = 4,
} VLCodecStatus;

typedef struct {
    /// 8-bit RGB, row-major HWC, as stored (EXIF orientation not applied), allocated with
    /// malloc; release with vl_codec_free.
    unsigned char *pixels;
    int width;
    int height;
    /// The file's first EXIF block from its TIFF header on (JPEG APP1 "Exif" segment, PNG eXIf
    /// chunk), or NULL; allocated with malloc, release with vl_codec_free. Not validated.
    unsigned char *exif;
    size_t exif_size;
    /// One-line explanation when the status is not VL_CODEC_OK.
    char message[256];
} VLDecodedImage;

typedef struct {
    unsigned char *bytes;   ///< allocated with malloc; release with vl_codec_free
    size_t size;
    char message[256];
} VLEncodedBytes;

/// Both decoders read the dimensions first and refuse, before allocating the image, zero
/// dimensions, more than `max_pixels` pixels, or a byte count that does not fit a signed size.
/// On any error nothing stays allocated and `out` holds only the message.

/// Decodes a JPEG held in memory to RGB (grayscale, YCbCr, RGB, CMYK and YCCK sources; CMYK is
/// taken as Adobe-inverted, as Pillow does, and mapped to RGB as Pillow's convert("RGB") does).
/// Warnings that mean image data is missing or damaged (premature end, bad Huffman code,
/// lost resynchronisation) are treated as errors.
VLCodecStatus vl_decode_jpeg(const unsigned char *data, size_t size, size_t max_pixels,
                             VLDecodedImage *out);

/// Decodes a PNG held in memory to 8-bit RGB: palette and low-bit gray are expanded,
/// 16-bit samples keep their high byte (as Pillow and OpenCV do), gray is replicated and alpha
/// (an alpha channel or tRNS) is dropped.
VLCodecStatus vl_decode_png(const unsigned char *data, size_t size, size_t max_pixels,
                            VLDecodedImage *out);

/// Encodes 8-bit gray (channels = 1) or RGB (channels = 3) pixels, row-major, as PNG in memory.
VLCodecStatus vl_encode_png(const unsigned char *pixels, int width, int height, int channels,
                            VLEncodedBytes *out);

void vl_codec_free(void *pointer);

#endif
