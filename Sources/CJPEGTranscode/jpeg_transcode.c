// DCT-domain re-encoding of JPEG tiles (see include/jpeg_transcode.h).
//
// JPEG's DCT is orthonormal, and converting RGB to YCbCr is linear (its level shift cancels, since the
// luma weights sum to one and the chroma weights to zero), so the output's luma coefficients are a
// weighted sum of the source's R, G and B coefficients, requantized: no inverse or forward DCT, no colour
// conversion of full-size pixels, no rounding to 8 bits in between. Chroma subsampled 2 x 2 is made from
// the half-size pixels that the low 4 x 4 coefficients of each block give (a 4-point inverse DCT, what
// libjpeg's scaled decoding does), converted and forward-transformed at a quarter of the pixel count;
// those half-size pixels are also the tile one pyramid level down, which the caller gets for free.
// Entropy decoding and coding stay libjpeg's. Errors arrive by longjmp, caught in jpeg_transcoder_run.
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "jpeg_transcode.h"

struct jpeg_transcoder {
    struct jpeg_decompress_struct in;
    struct jpeg_compress_struct out;
    struct jpeg_error_mgr errors;
    struct jpeg_destination_mgr destination;
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
    int quality;
    int subsampling;
    /// The output stream, grown as needed and kept between runs.
    unsigned char *buffer;
    size_t capacity;
    size_t size;
    /// Half-size planes of the source's three components, level-shifted (0 is mid-grey).
    float *planes[3];
    size_t plane_capacity;
    /// basis8[u][n] and basis4[u][n]: sample n of basis function u of the orthonormal 8-point DCT, and of
    /// the 4-point one applied to an 8-point DCT's low 4 coefficients (scaled by 1/sqrt 2, so that it gives
    /// the signal at half the sampling rate).
    float basis8[8][8];
    float basis4[4][4];
};

// MARK: libjpeg plumbing

static void fail(j_common_ptr info) {
    jpeg_transcoder *t = (jpeg_transcoder *)info->client_data;
    (*info->err->format_message)(info, t->message);
    longjmp(t->escape, 1);
}

/// Corrupt-data warnings are not fatal: like TurboJPEG, libjpeg fills what it cannot read and goes on.
static void quiet(j_common_ptr info, int level) { (void)info; (void)level; }

static void destination_start(j_compress_ptr info) {
    jpeg_transcoder *t = (jpeg_transcoder *)info->client_data;
    t->destination.next_output_byte = t->buffer;
    t->destination.free_in_buffer = t->capacity;
}

static boolean destination_full(j_compress_ptr info) {
    jpeg_transcoder *t = (jpeg_transcoder *)info->client_data;
    size_t grown = t->capacity * 2;
    unsigned char *buffer = realloc(t->buffer, grown);
    if (!buffer) ERREXIT(info, JERR_OUT_OF_MEMORY);
    t->destination.next_output_byte = buffer + t->capacity;
    t->destination.free_in_buffer = grown - t->capacity;
    t->buffer = buffer;
    t->capacity = grown;
    return TRUE;
}

static void destination_end(j_compress_ptr info) {
    jpeg_transcoder *t = (jpeg_transcoder *)info->client_data;
    t->size = t->capacity - t->destination.free_in_buffer;
}

jpeg_transcoder *jpeg_transcoder_create(int quality, int subsampling) {
    jpeg_transcoder *t = calloc(1, sizeof(jpeg_transcoder));
    if (!t) return NULL;
    t->quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    t->subsampling = subsampling;
    t->capacity = 64 * 1024;
    t->buffer = malloc(t->capacity);
    if (!t->buffer) { free(t); return NULL; }
    for (int n = 0; n < 8; n++)
        for (int u = 0; u < 8; u++)
            t->basis8[u][n] = (float)((u == 0 ? sqrt(1.0 / 8) : sqrt(2.0 / 8)) * cos((2 * n + 1) * u * M_PI / 16));
    for (int n = 0; n < 4; n++)
        for (int u = 0; u < 4; u++)
            t->basis4[u][n] = (float)((u == 0 ? sqrt(1.0 / 4) : sqrt(2.0 / 4)) * cos((2 * n + 1) * u * M_PI / 8) / sqrt(2.0));

    t->in.err = jpeg_std_error(&t->errors);
    t->out.err = &t->errors;
    t->errors.error_exit = fail;
    t->errors.emit_message = quiet;
    t->in.client_data = t;
    t->out.client_data = t;
    if (setjmp(t->escape)) {
        jpeg_destroy_decompress(&t->in);
        jpeg_destroy_compress(&t->out);
        free(t->buffer);
        free(t);
        return NULL;
    }
    jpeg_create_decompress(&t->in);
    jpeg_create_compress(&t->out);
    t->destination.init_destination = destination_start;
    t->destination.empty_output_buffer = destination_full;
    t->destination.term_destination = destination_end;
    t->out.dest = &t->destination;
    t->out.image_width = 16;
    t->out.image_height = 16;
    t->out.input_components = 3;
    t->out.in_color_space = JCS_YCbCr;
    jpeg_set_defaults(&t->out);
    jpeg_set_quality(&t->out, t->quality, TRUE);
    t->out.optimize_coding = FALSE;
    return t;
}

void jpeg_transcoder_destroy(jpeg_transcoder *t) {
    if (!t) return;
    jpeg_destroy_decompress(&t->in);
    jpeg_destroy_compress(&t->out);
    for (int c = 0; c < 3; c++) free(t->planes[c]);
    free(t->buffer);
    free(t);
}

const char *jpeg_transcoder_message(const jpeg_transcoder *t) { return t->message; }

// MARK: transforms
//
// Written with vector types (8 floats: one row of a block) so that every path vectorizes, with clones
// for AVX2 + FMA and for baseline x86-64, chosen when the library loads.

#if defined(__x86_64__) && defined(__ELF__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif
/// Helpers are inlined into each clone, so they take its instruction set and pass no vector by value.
#define INLINE inline __attribute__((always_inline))

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int v8i __attribute__((vector_size(32)));
typedef short v8s __attribute__((vector_size(16)));

// 256-bit vectors pass through no function boundary (that would need AVX in the baseline clone's ABI):
// the helpers that make them are macros.
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef short v8su __attribute__((vector_size(16), aligned(2)));
typedef short v4su __attribute__((vector_size(8), aligned(2)));
#define splat8(x) ((v8f){0} + (float)(x))
#define load8(p) ((v8f)(*(const v8u *)(p)))
#define store8(p, v) (*(v8u *)(p) = (v))
/// Eight coefficients of a block row, as floats.
#define coefficients8(p) __builtin_convertvector(*(const v8su *)(p), v8f)

static INLINE v4f splat4(float x) { return (v4f){x, x, x, x}; }
static INLINE v4f coefficients4(const JCOEF *p) { return __builtin_convertvector(*(const v4su *)p, v4f); }

/// Rounds half away from zero, as libjpeg's quantizer does, into baseline's coefficient range.
static INLINE void store_quantized(JCOEF *p, const v8f *value) {
    v8f x = *value;
    v8i rounded = __builtin_convertvector(x + __builtin_elementwise_copysign(splat8(0.5f), x), v8i);
    v8i limit = {1023, 1023, 1023, 1023, 1023, 1023, 1023, 1023};
    rounded = __builtin_elementwise_min(__builtin_elementwise_max(rounded, -limit), limit);
    *(v8su *)p = __builtin_convertvector(rounded, v8s);
}

/// Inverse DCT of one block's low 4 x 4 coefficients into 4 x 4 samples at half size (rows `pitch` apart).
static INLINE void inverse4(const jpeg_transcoder *t, const JCOEF *block, const v4f steps[4], float *out, size_t pitch) {
    v4f basis[4];
    memcpy(basis, t->basis4, sizeof basis);
    v4f rows[4];
    for (int v = 0; v < 4; v++) {
        v4f f = coefficients4(block + v * 8) * steps[v];
        rows[v] = splat4(f[0]) * basis[0] + splat4(f[1]) * basis[1] + splat4(f[2]) * basis[2] + splat4(f[3]) * basis[3];
    }
    for (int m = 0; m < 4; m++) {
        v4f sum = splat4(t->basis4[0][m]) * rows[0] + splat4(t->basis4[1][m]) * rows[1] + splat4(t->basis4[2][m]) * rows[2] +
                  splat4(t->basis4[3][m]) * rows[3];
        memcpy(out + m * pitch, &sum, sizeof sum);
    }
}

/// Inverse DCT of one block's low `bh` x `bw` coefficients (8 or 4 each) into `bh` x `bw` samples: the
/// general case (chroma of subsampled sources), in plain loops.
static INLINE void inverse(const jpeg_transcoder *t, const JCOEF *block, const UINT16 *steps, int bw, int bh, float *out, size_t pitch) {
    const float *across = bw == 8 ? &t->basis8[0][0] : &t->basis4[0][0];
    const float *down = bh == 8 ? &t->basis8[0][0] : &t->basis4[0][0];
    float rows[8][8] = {{0}};
    for (int v = 0; v < bh; v++)
        for (int u = 0; u < bw; u++) {
            float c = (float)block[v * 8 + u] * steps[v * 8 + u];
            for (int n = 0; n < bw; n++) rows[v][n] += c * across[u * bw + n];
        }
    for (int m = 0; m < bh; m++)
        for (int n = 0; n < bw; n++) {
            float sum = 0;
            for (int v = 0; v < bh; v++) sum += down[v * bh + m] * rows[v][n];
            out[m * pitch + n] = sum;
        }
}

/// Forward 8 x 8 DCT of the samples at `in` (rows `pitch` floats apart), quantized by `divisors`
/// (reciprocals of the quantization steps, a row a vector) into `block`.
static INLINE void forward(const jpeg_transcoder *t, const float *in, size_t pitch, const v8f divisors[8], JCOEF *block) {
    v8f columns[8];
    for (int n = 0; n < 8; n++) columns[n] = (v8f){t->basis8[0][n], t->basis8[1][n], t->basis8[2][n], t->basis8[3][n],
                                                   t->basis8[4][n], t->basis8[5][n], t->basis8[6][n], t->basis8[7][n]};
    v8f rows[8];
    for (int m = 0; m < 8; m++) {
        v8f x = load8(in + m * pitch), sum = splat8(0);
        for (int n = 0; n < 8; n++) sum += splat8(x[n]) * columns[n];
        rows[m] = sum;
    }
    for (int v = 0; v < 8; v++) {
        v8f sum = splat8(0);
        for (int m = 0; m < 8; m++) sum += splat8(t->basis8[v][m]) * rows[m];
        sum *= divisors[v];
        store_quantized(block + v * 8, &sum);
    }
}

static INLINE const JCOEF *block_row(jpeg_transcoder *t, jvirt_barray_ptr array, JDIMENSION row, boolean writable) {
    return (const JCOEF *)(*t->in.mem->access_virt_barray)((j_common_ptr)&t->in, array, row, 1, writable)[0];
}

/// Every block of source component `c`, inverse-transformed at half size into plane `c`.
KERNEL static void half_plane(jpeg_transcoder *t, jvirt_barray_ptr array, int c, size_t pitch) {
    jpeg_component_info *component = &t->in.comp_info[c];
    const UINT16 *steps = component->quant_table->quantval;
    int bw = 4 * t->in.max_h_samp_factor / component->h_samp_factor;
    int bh = 4 * t->in.max_v_samp_factor / component->v_samp_factor;
    v4f steps4[4];
    for (int v = 0; v < 4; v++) steps4[v] = (v4f){steps[v * 8], steps[v * 8 + 1], steps[v * 8 + 2], steps[v * 8 + 3]};
    for (JDIMENSION by = 0; by < component->height_in_blocks; by++) {
        const JCOEF *row = block_row(t, array, by, FALSE);
        for (JDIMENSION bx = 0; bx < component->width_in_blocks; bx++) {
            float *out = t->planes[c] + (size_t)by * bh * pitch + (size_t)bx * bw;
            if (bw == 4 && bh == 4) inverse4(t, row + bx * 64, steps4, out, pitch);
            else inverse(t, row + bx * 64, steps, bw, bh, out, pitch);
        }
    }
}

/// Output component `target` as a weighted sum of the source's three full-resolution components
/// (`weights`; one source component alone is a requantization), coefficient by coefficient.
KERNEL static void combine(jpeg_transcoder *t, jvirt_barray_ptr *source, jvirt_barray_ptr target, const float weights[3],
                           const UINT16 *steps, JDIMENSION width, JDIMENSION height) {
    v8f scale[3][8];
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 64; k++)
            scale[c][k / 8][k % 8] = weights[c] * t->in.comp_info[c].quant_table->quantval[k] / (float)steps[k];
    for (JDIMENSION by = 0; by < height; by++) {
        JCOEF *out = (JCOEF *)block_row(t, target, by, TRUE);
        const JCOEF *in[3];
        for (int c = 0; c < 3; c++) in[c] = weights[c] != 0 ? block_row(t, source[c], by, FALSE) : NULL;
        for (JDIMENSION bx = 0; bx < width; bx++)
            for (int r = 0; r < 8; r++) {
                v8f sum = splat8(0);
                for (int c = 0; c < 3; c++)
                    if (in[c]) sum += coefficients8(in[c] + bx * 64 + r * 8) * scale[c][r];
                store_quantized(out + bx * 64 + r * 8, &sum);
            }
    }
}

/// Requantizes one component whose blocks the output keeps as they are.
static void requantize(jpeg_transcoder *t, jvirt_barray_ptr *source, int c, jvirt_barray_ptr target, const UINT16 *steps) {
    float weights[3] = {0, 0, 0};
    weights[c] = 1;
    combine(t, source, target, weights, steps, t->in.comp_info[c].width_in_blocks, t->in.comp_info[c].height_in_blocks);
}

static const float luma[3] = {0.299f, 0.587f, 0.114f};
static const float blue[3] = {-0.168736f, -0.331264f, 0.5f};
static const float red[3] = {0.5f, -0.418688f, -0.081312f};

/// 2 x 2 subsampled chroma from the half-size planes (R, G, B, or the source's Cb and Cr), a block per
/// 8 x 8 samples.
KERNEL static void subsampled_chroma(jpeg_transcoder *t, jvirt_barray_ptr cb, jvirt_barray_ptr cr, int rgb, const UINT16 *steps,
                                     JDIMENSION width, JDIMENSION height) {
    v8f divisors[8];
    for (int k = 0; k < 64; k++) divisors[k / 8][k % 8] = 1.0f / steps[k];
    size_t pitch = width / 2;
    float scratch[2][64];
    for (JDIMENSION by = 0; by < height / 16; by++) {
        JCOEF *blue_row = (JCOEF *)block_row(t, cb, by, TRUE), *red_row = (JCOEF *)block_row(t, cr, by, TRUE);
        for (JDIMENSION bx = 0; bx < width / 16; bx++) {
            size_t at = (size_t)by * 8 * pitch + (size_t)bx * 8;
            if (rgb) {
                for (int m = 0; m < 8; m++) {
                    v8f r = load8(t->planes[0] + at + m * pitch), g = load8(t->planes[1] + at + m * pitch),
                        b = load8(t->planes[2] + at + m * pitch);
                    store8(scratch[0] + m * 8, splat8(blue[0]) * r + splat8(blue[1]) * g + splat8(blue[2]) * b);
                    store8(scratch[1] + m * 8, splat8(red[0]) * r + splat8(red[1]) * g + splat8(red[2]) * b);
                }
                forward(t, scratch[0], 8, divisors, blue_row + bx * 64);
                forward(t, scratch[1], 8, divisors, red_row + bx * 64);
            } else {
                forward(t, t->planes[1] + at, pitch, divisors, blue_row + bx * 64);
                forward(t, t->planes[2] + at, pitch, divisors, red_row + bx * 64);
            }
        }
    }
}

/// The top-left `width` x `height` of the half-size planes as RGB pixels.
KERNEL static void half_rgb(const jpeg_transcoder *t, int rgb, size_t pitch, unsigned char *half, int half_pitch, int width, int height) {
    for (int y = 0; y < height; y++) {
        const float *p0 = t->planes[0] + (size_t)y * pitch, *p1 = t->planes[1] + (size_t)y * pitch, *p2 = t->planes[2] + (size_t)y * pitch;
        unsigned char *row = half + (size_t)y * half_pitch;
        for (int x = 0; x < width; x += 8) {
            v8f r = load8(p0 + x), g = load8(p1 + x), b = load8(p2 + x);
            if (!rgb) {
                v8f yy = r, u = g, v = b;
                r = yy + splat8(1.402f) * v;
                g = yy - splat8(0.344136f) * u - splat8(0.714136f) * v;
                b = yy + splat8(1.772f) * u;
            }
            v8f channels[3] = {r, g, b};
            v8i samples[3];
            for (int c = 0; c < 3; c++) {
                v8f shifted = __builtin_elementwise_min(__builtin_elementwise_max(channels[c] + splat8(128.5f), splat8(0)), splat8(255));
                samples[c] = __builtin_convertvector(shifted, v8i);
            }
            int count = width - x < 8 ? width - x : 8;
            for (int i = 0; i < count; i++) {
                row[3 * (x + i)] = (unsigned char)samples[0][i];
                row[3 * (x + i) + 1] = (unsigned char)samples[1][i];
                row[3 * (x + i) + 2] = (unsigned char)samples[2][i];
            }
        }
    }
}

// MARK: the run

int jpeg_transcoder_run(jpeg_transcoder *t, const unsigned char *source, size_t source_size,
                        const unsigned char **output, size_t *output_size,
                        unsigned char *half, int half_pitch, int half_width, int half_height) {
    if (setjmp(t->escape)) {
        jpeg_abort_decompress(&t->in);
        jpeg_abort_compress(&t->out);
        return JPEG_TRANSCODE_ERROR;
    }
    jpeg_mem_src(&t->in, source, (unsigned long)source_size);
    jpeg_read_header(&t->in, TRUE);
    struct jpeg_decompress_struct *in = &t->in;
    JDIMENSION width = in->image_width, height = in->image_height;
    if (in->num_components != 3) {
        jpeg_abort_decompress(in);
        return JPEG_TRANSCODE_UNSUPPORTED;
    }
    jpeg_component_info *c0 = &in->comp_info[0], *c1 = &in->comp_info[1], *c2 = &in->comp_info[2];
    int rgb = in->jpeg_color_space == JCS_RGB && c0->h_samp_factor == 1 && c0->v_samp_factor == 1;
    int ycc = in->jpeg_color_space == JCS_YCbCr && c0->h_samp_factor <= 2 && c0->v_samp_factor <= 2;
    int chroma_full = rgb || (c0->h_samp_factor == 1 && c0->v_samp_factor == 1);
    int th = t->subsampling == 420 ? 2 : 1;
    if (!(rgb || ycc) || in->data_precision != 8 || width % 16 || height % 16 || (t->subsampling != 420 && t->subsampling != 444) ||
        c1->h_samp_factor != 1 || c1->v_samp_factor != 1 || c2->h_samp_factor != 1 || c2->v_samp_factor != 1 ||
        (t->subsampling == 444 && !chroma_full) || (half && (half_width > (int)width / 2 || half_height > (int)height / 2))) {
        jpeg_abort_decompress(in);
        return JPEG_TRANSCODE_UNSUPPORTED;
    }
    // The output's coefficient arrays, realized with the source's by jpeg_read_coefficients (as jpegtran does).
    jvirt_barray_ptr target[3];
    for (int c = 0; c < 3; c++) {
        int factor = c == 0 ? th : 1;
        target[c] = (*in->mem->request_virt_barray)((j_common_ptr)in, JPOOL_IMAGE, FALSE, width * factor / (8 * th),
                                                    height * factor / (8 * th), (JDIMENSION)factor);
    }
    jvirt_barray_ptr *coefficients = jpeg_read_coefficients(in);
    // A component that no scan carried (a damaged progressive stream) has no quantization table.
    for (int c = 0; c < 3; c++)
        if (!in->comp_info[c].quant_table) ERREXIT1(in, JERR_NO_QUANT_TABLE, c);

    struct jpeg_compress_struct *out = &t->out;
    const UINT16 *luma_steps = out->quant_tbl_ptrs[0]->quantval, *chroma_steps = out->quant_tbl_ptrs[1]->quantval;
    // Chroma kept as it is: the source's, at the output's sampling.
    int same_chroma = ycc && c0->h_samp_factor == th && c0->v_samp_factor == th;
    size_t pitch = width / 2, plane = (size_t)(width / 2) * (height / 2);
    if (half != NULL || (th == 2 && !same_chroma)) {
        if (plane > t->plane_capacity) {
            for (int c = 0; c < 3; c++) {
                free(t->planes[c]);
                t->planes[c] = malloc(plane * sizeof(float));
                if (!t->planes[c]) { t->plane_capacity = 0; ERREXIT(in, JERR_OUT_OF_MEMORY); }
            }
            t->plane_capacity = plane;
        }
        for (int c = 0; c < 3; c++) half_plane(t, coefficients[c], c, pitch);
    }

    // Luma: a weighted sum of R, G and B, or the source's luma requantized.
    if (rgb) combine(t, coefficients, target[0], luma, luma_steps, width / 8, height / 8);
    else requantize(t, coefficients, 0, target[0], luma_steps);
    // Chroma: kept, a weighted sum at full resolution, or subsampled through the half-size planes.
    if (same_chroma) {
        requantize(t, coefficients, 1, target[1], chroma_steps);
        requantize(t, coefficients, 2, target[2], chroma_steps);
    } else if (th == 1) {
        combine(t, coefficients, target[1], blue, chroma_steps, width / 8, height / 8);
        combine(t, coefficients, target[2], red, chroma_steps, width / 8, height / 8);
    } else {
        subsampled_chroma(t, target[1], target[2], rgb, chroma_steps, width, height);
    }
    if (half) half_rgb(t, rgb, pitch, half, half_pitch, half_width, half_height);

    out->image_width = width;
    out->image_height = height;
    out->comp_info[0].h_samp_factor = th;
    out->comp_info[0].v_samp_factor = th;
    jpeg_write_coefficients(out, target);
    jpeg_finish_compress(out);
    jpeg_finish_decompress(in);
    *output = t->buffer;
    *output_size = t->size;
    return JPEG_TRANSCODE_OK;
}
