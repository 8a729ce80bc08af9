// OpenJPEG for Swift: in-memory streams, captured error messages, and whole-tile encode/decode of
// 8-bit images as raw J2K codestreams (what DICOM and Aperio TIFF store).
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <openjpeg.h>

typedef struct { char message[256]; } copj_errors;

static void copj_error_callback(const char *msg, void *user_data) {
    copj_errors *errors = (copj_errors *)user_data;
    if (errors && errors->message[0] == 0) {
        snprintf(errors->message, sizeof errors->message, "%s", msg);
        size_t n = strlen(errors->message);
        while (n > 0 && (errors->message[n - 1] == '\n' || errors->message[n - 1] == '\r')) errors->message[--n] = 0;
    }
}
static void copj_quiet_callback(const char *msg, void *user_data) { (void)msg; (void)user_data; }

typedef struct { const uint8_t *data; size_t size; size_t pos; } copj_reader;
typedef struct { uint8_t *data; size_t size; size_t capacity; size_t pos; } copj_writer;

static OPJ_SIZE_T copj_read(void *buffer, OPJ_SIZE_T n, void *user_data) {
    copj_reader *r = (copj_reader *)user_data;
    if (r->pos >= r->size) return (OPJ_SIZE_T)-1;
    size_t left = r->size - r->pos;
    if (n > left) n = left;
    memcpy(buffer, r->data + r->pos, n);
    r->pos += n;
    return n;
}
static OPJ_OFF_T copj_read_skip(OPJ_OFF_T n, void *user_data) {
    copj_reader *r = (copj_reader *)user_data;
    if (n < 0) { if ((size_t)(-n) > r->pos) n = -(OPJ_OFF_T)r->pos; }
    else if ((size_t)n > r->size - r->pos) n = (OPJ_OFF_T)(r->size - r->pos);
    r->pos += n;
    return n;
}
static OPJ_BOOL copj_read_seek(OPJ_OFF_T n, void *user_data) {
    copj_reader *r = (copj_reader *)user_data;
    if (n < 0 || (size_t)n > r->size) return OPJ_FALSE;
    r->pos = (size_t)n;
    return OPJ_TRUE;
}
static int copj_writer_reserve(copj_writer *w, size_t needed) {
    if (needed <= w->capacity) return 1;
    size_t capacity = w->capacity ? w->capacity : 65536;
    while (capacity < needed) capacity *= 2;
    uint8_t *data = (uint8_t *)realloc(w->data, capacity);
    if (!data) return 0;
    w->data = data;
    w->capacity = capacity;
    return 1;
}
static OPJ_SIZE_T copj_write(void *buffer, OPJ_SIZE_T n, void *user_data) {
    copj_writer *w = (copj_writer *)user_data;
    if (!copj_writer_reserve(w, w->pos + n)) return (OPJ_SIZE_T)-1;
    memcpy(w->data + w->pos, buffer, n);
    w->pos += n;
    if (w->pos > w->size) w->size = w->pos;
    return n;
}
static OPJ_OFF_T copj_write_skip(OPJ_OFF_T n, void *user_data) {
    copj_writer *w = (copj_writer *)user_data;
    if (n < 0 || !copj_writer_reserve(w, w->pos + (size_t)n)) return -1;
    memset(w->data + w->pos, 0, (size_t)n);
    w->pos += (size_t)n;
    if (w->pos > w->size) w->size = w->pos;
    return n;
}
static OPJ_BOOL copj_write_seek(OPJ_OFF_T n, void *user_data) {
    copj_writer *w = (copj_writer *)user_data;
    if (n < 0 || !copj_writer_reserve(w, (size_t)n)) return OPJ_FALSE;
    w->pos = (size_t)n;
    return OPJ_TRUE;
}

/// Decodes a J2K codestream (or JP2 file) of 8-bit components into interleaved samples, each component
/// upsampled to the full image size, or to 1/2^reduce of it (the wavelet's lower resolutions: what is
/// coded for the finer ones is not decoded). `*out` is malloc'ed; free it with `free`. Returns 0 on success.
static inline int copj_decode(const uint8_t *data, size_t size, int reduce, uint8_t **out, int *width, int *height,
                              int *components, copj_errors *errors) {
    *out = NULL;
    int isJP2 = size >= 12 && memcmp(data, "\x00\x00\x00\x0cjP  ", 8) == 0;
    opj_codec_t *codec = opj_create_decompress(isJP2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    if (!codec) return -1;
    opj_set_error_handler(codec, copj_error_callback, errors);
    opj_set_warning_handler(codec, copj_quiet_callback, NULL);
    opj_set_info_handler(codec, copj_quiet_callback, NULL);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    params.cp_reduce = (OPJ_UINT32)reduce;
    copj_reader reader = { data, size, 0 };
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_stream_set_user_data(stream, &reader, NULL);
    opj_stream_set_user_data_length(stream, size);
    opj_stream_set_read_function(stream, copj_read);
    opj_stream_set_skip_function(stream, copj_read_skip);
    opj_stream_set_seek_function(stream, copj_read_seek);
    opj_image_t *image = NULL;
    int status = -1;
    if (opj_setup_decoder(codec, &params) && opj_read_header(stream, codec, &image) &&
        opj_decode(codec, stream, image) && opj_end_decompress(codec, stream)) {
        int w = (int)((image->x1 - image->x0 + (1u << reduce) - 1) >> reduce);
        int h = (int)((image->y1 - image->y0 + (1u << reduce) - 1) >> reduce), n = (int)image->numcomps;
        int ok = w > 0 && h > 0 && n >= 1 && n <= 4;
        for (int c = 0; ok && c < n; c++) ok = image->comps[c].prec <= 8 && image->comps[c].data != NULL;
        if (ok) {
            uint8_t *pixels = (uint8_t *)malloc((size_t)w * h * n);
            if (pixels) {
                for (int c = 0; c < n; c++) {
                    opj_image_comp_t *comp = &image->comps[c];
                    int dx = comp->dx ? comp->dx : 1, dy = comp->dy ? comp->dy : 1;
                    int cw = (int)comp->w, ch = (int)comp->h;
                    int offset = comp->sgnd ? 128 : 0;
                    for (int y = 0; y < h; y++) {
                        int sy = y / dy; if (sy >= ch) sy = ch - 1;
                        const OPJ_INT32 *row = comp->data + (size_t)sy * cw;
                        uint8_t *dst = pixels + (size_t)y * w * n + c;
                        for (int x = 0; x < w; x++) {
                            int sx = x / dx; if (sx >= cw) sx = cw - 1;
                            int v = row[sx] + offset;
                            dst[(size_t)x * n] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                        }
                    }
                }
                *out = pixels; *width = w; *height = h; *components = n;
                status = 0;
            }
        } else if (errors && errors->message[0] == 0) {
            snprintf(errors->message, sizeof errors->message, "unsupported JPEG 2000 layout (%d components)", n);
        }
    }
    if (image) opj_image_destroy(image);
    opj_stream_destroy(stream);
    opj_destroy_codec(codec);
    return status;
}

/// Encodes interleaved 8-bit samples as a J2K codestream. `ratio` 0 means reversible (5-3, RCT: lossless);
/// otherwise irreversible (9-7, ICT) at that compression ratio. The codestream lands in `out` (malloc'ed).
static inline int copj_encode(const uint8_t *pixels, int width, int height, int components, float ratio,
                              copj_writer *out, copj_errors *errors) {
    opj_cparameters_t params;
    opj_set_default_encoder_parameters(&params);
    params.tcp_numlayers = 1;
    params.cp_disto_alloc = 1;
    params.tcp_rates[0] = ratio > 0 ? ratio : 0;
    params.irreversible = ratio > 0 ? 1 : 0;
    params.tcp_mct = components >= 3 ? 1 : 0;
    int resolutions = 1, side = width < height ? width : height;
    while (resolutions < 6 && (side >> resolutions) >= 8) resolutions++;
    params.numresolution = resolutions;
    opj_image_cmptparm_t comps[4];
    memset(comps, 0, sizeof comps);
    for (int c = 0; c < components; c++) {
        comps[c].dx = 1; comps[c].dy = 1; comps[c].w = (OPJ_UINT32)width; comps[c].h = (OPJ_UINT32)height;
        comps[c].prec = 8; comps[c].sgnd = 0;
    }
    opj_image_t *image = opj_image_create((OPJ_UINT32)components, comps, components >= 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (!image) return -1;
    image->x0 = 0; image->y0 = 0; image->x1 = (OPJ_UINT32)width; image->y1 = (OPJ_UINT32)height;
    size_t count = (size_t)width * height;
    for (int c = 0; c < components; c++) {
        OPJ_INT32 *dst = image->comps[c].data;
        const uint8_t *src = pixels + c;
        for (size_t i = 0; i < count; i++) dst[i] = src[i * components];
    }
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    opj_set_error_handler(codec, copj_error_callback, errors);
    opj_set_warning_handler(codec, copj_quiet_callback, NULL);
    opj_set_info_handler(codec, copj_quiet_callback, NULL);
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_FALSE);
    opj_stream_set_user_data(stream, out, NULL);
    opj_stream_set_write_function(stream, copj_write);
    opj_stream_set_skip_function(stream, copj_write_skip);
    opj_stream_set_seek_function(stream, copj_write_seek);
    int status = -1;
    if (opj_setup_encoder(codec, &params, image) && opj_start_compress(codec, image, stream) &&
        opj_encode(codec, stream) && opj_end_compress(codec, stream)) status = 0;
    opj_stream_destroy(stream);
    opj_destroy_codec(codec);
    opj_image_destroy(image);
    return status;
}
