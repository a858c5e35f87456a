#include "CImageCodecs.h"
#include "decoded_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

/// Error context shared by reading and writing. libpng calls `guard_error` on any
/// fatal problem; it records the message and jumps back into the function that set it up.
typedef struct {
    jmp_buf jump;
    VLCodecStatus status;
    char message[256];
    /* what libpng said was wrong with IHDR, before failing with a bare "Invalid IHDR data" */
    char header_problems[160];
    /* reading */
    const unsigned char *data;
    size_t size;
    size_t offset;
    /* writing */
    unsigned char *output;
    size_t output_size;
    size_t output_capacity;
} PNGGuard;

static void guard_error(png_structp png, png_const_charp text) {
    PNGGuard *guard = (PNGGuard *)png_get_error_ptr(png);
    if (guard->status == VL_CODEC_OK) guard->status = VL_CODEC_CORRUPT;
    if (guard->message[0] == 0) {
        if (guard->header_problems[0])
            snprintf(guard->message, sizeof guard->message, "%s: %s", text, guard->header_problems);
        else
            snprintf(guard->message, sizeof guard->message, "%s", text);
    }
    longjmp(guard->jump, 1);
}

/// Ancillary-chunk complaints (bad sRGB profile, bad text chunk…) do not affect the pixels and
/// are dropped; what libpng finds wrong with the header is kept for the error that follows.
static void guard_warning(png_structp png, png_const_charp text) {
    PNGGuard *guard = (PNGGuard *)png_get_error_ptr(png);
    if (!strstr(text, "IHDR")) return;
    size_t used = strlen(guard->header_problems);
    snprintf(guard->header_problems + used, sizeof guard->header_problems - used, "%s%s", used ? "; " : "", text);
}

static void read_from_memory(png_structp png, png_bytep target, png_size_t length) {
    PNGGuard *guard = (PNGGuard *)png_get_io_ptr(png);
    if (length > guard->size - guard->offset) png_error(png, "data ends early (truncated file)");
    memcpy(target, guard->data + guard->offset, length);
    guard->offset += length;
}

/// Keeps the eXIf chunk when libpng has read one (before the image data, or after it once
/// png_read_end has run). Returns 0 when out of memory.
static int keep_exif_chunk(png_structp png, png_infop info, VLDecodedImage *out) {
    png_bytep exif = NULL;
    png_uint_32 size = 0;
    if (!png_get_eXIf_1(png, info, &size, &exif)) return 1;
    return vl_keep_exif(out, exif, size);
}

VLCodecStatus vl_decode_png(const unsigned char *data, size_t size, size_t max_pixels,
                            VLDecodedImage *out) {
    PNGGuard guard;
    png_structp png = NULL;
    png_infop info = NULL;
    /* Written after setjmp and read after a longjmp, hence volatile. (What `out` points to
       lives in memory and survives the jump.) */
    png_bytep *volatile rows = NULL;

    memset(out, 0, sizeof *out);
    memset(&guard, 0, sizeof guard);
    guard.data = data;
    guard.size = size;

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error, guard_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(out->message, sizeof out->message, "out of memory creating the PNG reader");
        return VL_CODEC_NO_MEMORY;
    }

    if (setjmp(guard.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        vl_discard_decoded(out);
        snprintf(out->message, sizeof out->message, "%s", guard.message);
        return guard.status;
    }

    png_set_read_fn(png, &guard, read_from_memory);
#ifdef FUZZING
    /* Fuzzing builds (make fuzz) read past wrong chunk CRCs, which random mutations almost never
       keep right: the decoding behind them is what the fuzzer is for. */
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#endif
    /* The caller's pixel limit decides what is too large, not libpng's 1,000,000-per-side default. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    guard.status = vl_check_dimensions("PNG", width, height, max_pixels, guard.message);
    if (guard.status != VL_CODEC_OK) longjmp(guard.jump, 1);

    int color_type = png_get_color_type(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    /* The high byte, as Pillow's convert("RGB") of 16-bit RGB and OpenCV's imread do. */
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    /* Drops a real alpha channel and the one palette/tRNS expansion may add. */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)width * 3) {
        guard.status = VL_CODEC_UNSUPPORTED;
        snprintf(guard.message, sizeof guard.message,
                 "unsupported PNG layout (colour type %d, %d channels after conversion)",
                 color_type, png_get_channels(png, info));
        longjmp(guard.jump, 1);
    }

    out->pixels = malloc((size_t)width * height * 3);
    rows = malloc(sizeof(png_bytep) * height);
    if (!out->pixels || !rows || !keep_exif_chunk(png, info, out)) {
        guard.status = VL_CODEC_NO_MEMORY;
        snprintf(guard.message, sizeof guard.message,
                 "out of memory for a %ux%u image", width, height);
        longjmp(guard.jump, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = out->pixels + (size_t)y * width * 3;
    png_read_image(png, rows);
    png_read_end(png, info);
    if (!keep_exif_chunk(png, info, out)) {
        guard.status = VL_CODEC_NO_MEMORY;
        snprintf(guard.message, sizeof guard.message, "out of memory keeping the eXIf chunk");
        longjmp(guard.jump, 1);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    out->width = (int)width;
    out->height = (int)height;
    return VL_CODEC_OK;
}

static void write_to_memory(png_structp png, png_bytep source, png_size_t length) {
    PNGGuard *guard = (PNGGuard *)png_get_io_ptr(png);
    if (length > guard->output_capacity - guard->output_size) {
        size_t capacity = guard->output_capacity ? guard->output_capacity : 65536;
        while (length > capacity - guard->output_size) capacity *= 2;
        unsigned char *grown = realloc(guard->output, capacity);
        if (!grown) {
            guard->status = VL_CODEC_NO_MEMORY;
            png_error(png, "out of memory while encoding PNG");
        }
        guard->output = grown;
        guard->output_capacity = capacity;
    }
    memcpy(guard->output + guard->output_size, source, length);
    guard->output_size += length;
}

static void flush_memory(png_structp png) { (void)png; }

VLCodecStatus vl_encode_png(const unsigned char *pixels, int width, int height, int channels,
                            VLEncodedBytes *out) {
    PNGGuard guard;
    png_structp png = NULL;
    png_infop info = NULL;

    memset(out, 0, sizeof *out);
    memset(&guard, 0, sizeof guard);
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
        snprintf(out->message, sizeof out->message,
                 "cannot encode a %dx%d image with %d channels as PNG", width, height, channels);
        return VL_CODEC_UNSUPPORTED;
    }

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error, guard_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(out->message, sizeof out->message, "out of memory creating the PNG writer");
        return VL_CODEC_NO_MEMORY;
    }

    if (setjmp(guard.jump)) {
        png_destroy_write_struct(&png, &info);
        free(guard.output);
        snprintf(out->message, sizeof out->message, "%s", guard.message);
        return guard.status;
    }

    png_set_write_fn(png, &guard, write_to_memory, flush_memory);
    /* The pictures a batch writes are looked at, not archived: zlib level 3 is about twice as
       fast as the default 6 for a few percent more bytes. */
    png_set_compression_level(png, 3);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * channels;
    for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);

    out->bytes = guard.output;
    out->size = guard.output_size;
    return VL_CODEC_OK;
}
