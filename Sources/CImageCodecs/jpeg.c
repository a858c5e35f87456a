#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    VLCodecStatus status;
    char message[JMSG_LENGTH_MAX];
} JPEGGuard;

static void guard_fail(j_common_ptr cinfo) {
    JPEGGuard *guard = (JPEGGuard *)cinfo->err;
    guard->status = VL_CODEC_CORRUPT;
    (*cinfo->err->format_message)(cinfo, guard->message);
    longjmp(guard->jump, 1);
}

/// Warnings that mean part of the image data is missing or garbled. libjpeg would
/// carry on and fill the rest with grey; a half-grey image must not pass as a decode.
static int is_damaging_warning(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
        return 1;
    default:
        return 0;
    }
}

static void guard_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (is_damaging_warning(cinfo->err->msg_code)) guard_fail(cinfo);
    }
}

static void guard_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void set_message(char *destination, const char *text) {
    snprintf(destination, 256, "%s", text);
}

/// Adobe applications write CMYK inverted (255 = no ink); others write it plainly.
static void cmyk_row_to_rgb(const JSAMPLE *cmyk, unsigned char *rgb, int width, int inverted) {
    for (int x = 0; x < width; x++) {
        unsigned c = cmyk[4 * x], m = cmyk[4 * x + 1], y = cmyk[4 * x + 2], k = cmyk[4 * x + 3];
        if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        /* (255 - C)(255 - K) / 255 on the plain values, rounded */
        rgb[3 * x] = (unsigned char)((c * k + 127) / 255);
        rgb[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
        rgb[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
    }
}

VLCodecStatus vl_decode_jpeg(const unsigned char *data, size_t size, size_t max_pixels,
                             VLDecodedImage *out) {
    struct jpeg_decompress_struct cinfo;
    JPEGGuard guard;
    /* Written after setjmp and read after a longjmp, hence volatile. */
    unsigned char *volatile pixels = NULL;
    JSAMPLE *volatile cmyk_row = NULL;

    memset(out, 0, sizeof *out);
    cinfo.err = jpeg_std_error(&guard.base);
    guard.base.error_exit = guard_fail;
    guard.base.emit_message = guard_emit_message;
    guard.base.output_message = guard_output_message;
    guard.status = VL_CODEC_OK;
    guard.message[0] = 0;

    if (setjmp(guard.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        set_message(out->message, guard.message);
        return guard.status;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK; /* libjpeg cannot go to RGB from these itself */
        cmyk = 1;
        break;
    default:
        guard.status = VL_CODEC_UNSUPPORTED;
        snprintf(guard.message, sizeof guard.message,
                 "unsupported JPEG colour space (%d components)", cinfo.num_components);
        longjmp(guard.jump, 1);
    }

    jpeg_calc_output_dimensions(&cinfo);
    size_t width = cinfo.output_width, height = cinfo.output_height;
    if (width == 0 || height == 0 || width > max_pixels / height) {
        guard.status = VL_CODEC_TOO_LARGE;
        snprintf(guard.message, sizeof guard.message,
                 "JPEG dimensions %zux%zu exceed the limit of %zu pixels", width, height, max_pixels);
        longjmp(guard.jump, 1);
    }

    pixels = malloc(width * height * 3);
    if (cmyk) cmyk_row = malloc(width * 4);
    if (!pixels || (cmyk && !cmyk_row)) {
        guard.status = VL_CODEC_NO_MEMORY;
        snprintf(guard.message, sizeof guard.message,
                 "out of memory for a %zux%zu image", width, height);
        longjmp(guard.jump, 1);
    }

    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = pixels + (size_t)cinfo.output_scanline * width * 3;
        JSAMPROW target = cmyk ? cmyk_row : row;
        jpeg_read_scanlines(&cinfo, &target, 1);
        if (cmyk) cmyk_row_to_rgb(cmyk_row, row, (int)width, cinfo.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);

    out->pixels = pixels;
    out->width = (int)width;
    out->height = (int)height;
    return VL_CODEC_OK;
}

void vl_codec_free(void *pointer) { free(pointer); }
