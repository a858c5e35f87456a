#include "CImageCodecs.h"
#include "decoded_image.h"

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
    char message[256]; /* >= JMSG_LENGTH_MAX, and what vl_check_dimensions writes */
} JPEGGuard;

/// Errors about what this libjpeg cannot do (12-bit samples, lossless or hierarchical JPEG,
/// sides above 65500 pixels), as opposed to damaged data.
static VLCodecStatus status_of_error(int code) {
    switch (code) {
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
        return VL_CODEC_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
        return VL_CODEC_NO_MEMORY;
    default:
        return VL_CODEC_CORRUPT;
    }
}

static void guard_fail(j_common_ptr cinfo) {
    JPEGGuard *guard = (JPEGGuard *)cinfo->err;
    guard->status = status_of_error(cinfo->err->msg_code);
    (*cinfo->err->format_message)(cinfo, guard->message);
    longjmp(guard->jump, 1);
}

/// Every scan of a JPEG makes libjpeg pass over the whole image again, and a scan can be a few
/// bytes (one end-of-band run covers 32767 blocks), so a small file can decode for minutes.
/// Encoders write about 10 scans (libjpeg-turbo's djpeg has -maxscans for the same reason).
enum { MAX_JPEG_SCANS = 1000 };

/// libjpeg's progress hook, called at least once per scan while it reads the input.
static void limit_scans(j_common_ptr cinfo) {
    if (((j_decompress_ptr)cinfo)->input_scan_number <= MAX_JPEG_SCANS) return;
    JPEGGuard *guard = (JPEGGuard *)cinfo->err;
    guard->status = VL_CODEC_UNSUPPORTED;
    snprintf(guard->message, sizeof guard->message,
             "JPEG with more than %d scans (encoders write about 10; each scan is another pass over the image)",
             MAX_JPEG_SCANS);
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

/// CMYK samples as Adobe writes them, inverted (255 = no ink), which Pillow assumes for every
/// CMYK JPEG; RGB as Pillow's convert("RGB"): (255 - C)(255 - K) / 255 on the plain values,
/// rounded, i.e. C'K' / 255 on the stored ones.
static void cmyk_row_to_rgb(const JSAMPLE *cmyk, unsigned char *rgb, int width) {
    for (int x = 0; x < width; x++) {
        unsigned k = cmyk[4 * x + 3];
        for (int c = 0; c < 3; c++) rgb[3 * x + c] = (unsigned char)((cmyk[4 * x + c] * k + 127) / 255);
    }
}

/// Keeps the first APP1 segment that holds EXIF ("Exif\0\0", then the TIFF block).
/// Returns 0 when out of memory.
static int keep_exif_segment(j_decompress_ptr cinfo, VLDecodedImage *out) {
    static const unsigned char exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};
    for (jpeg_saved_marker_ptr marker = cinfo->marker_list; marker; marker = marker->next) {
        if (marker->marker != JPEG_APP0 + 1 || marker->data_length < sizeof exif_header ||
            memcmp(marker->data, exif_header, sizeof exif_header) != 0)
            continue;
        return vl_keep_exif(out, marker->data + sizeof exif_header, marker->data_length - sizeof exif_header);
    }
    return 1;
}

VLCodecStatus vl_decode_jpeg(const unsigned char *data, size_t size, size_t max_pixels,
                             VLDecodedImage *out) {
    struct jpeg_decompress_struct cinfo;
    JPEGGuard guard;
    /* Written after setjmp and read after a longjmp, hence volatile. (What `out` points to
       lives in memory and survives the jump.) */
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
        free(cmyk_row);
        vl_discard_decoded(out);
        set_message(out->message, guard.message);
        return guard.status;
    }

    jpeg_create_decompress(&cinfo);
    struct jpeg_progress_mgr scan_limit = {.progress_monitor = limit_scans};
    cinfo.progress = &scan_limit;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
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
    guard.status = vl_check_dimensions("JPEG", width, height, max_pixels, guard.message);
    if (guard.status != VL_CODEC_OK) longjmp(guard.jump, 1);

    out->pixels = malloc(width * height * 3);
    if (cmyk) cmyk_row = malloc(width * 4);
    if (!out->pixels || (cmyk && !cmyk_row) || !keep_exif_segment(&cinfo, out)) {
        guard.status = VL_CODEC_NO_MEMORY;
        snprintf(guard.message, sizeof guard.message,
                 "out of memory for a %zux%zu image", width, height);
        longjmp(guard.jump, 1);
    }

    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = out->pixels + (size_t)cinfo.output_scanline * width * 3;
        JSAMPROW target = cmyk ? cmyk_row : row;
        jpeg_read_scanlines(&cinfo, &target, 1);
        if (cmyk) cmyk_row_to_rgb(cmyk_row, row, (int)width);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);

    out->width = (int)width;
    out->height = (int)height;
    return VL_CODEC_OK;
}

void vl_codec_free(void *pointer) { free(pointer); }
