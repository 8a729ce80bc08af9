// DCT-domain re-encoding of JPEG tiles (see include/jpeg_transcode.h).
//
// JPEG's DCT is orthonormal, and converting RGB to YCbCr is linear (its level shift cancels, since the
// luma weights sum to one and the chroma weights to zero), so the output's luma coefficients are a
// weighted sum of the source's R, G and B coefficients, requantized: no inverse or forward DCT, no colour
// conversion of full-size pixels, no rounding to 8 bits in between. Chroma subsampled 2 x 2 is made from
// the half-size pixels that the low 4 x 4 coefficients of each block give (a 4-point inverse DCT: a
// low-pass filter; libjpeg's scaled decoding also folds in coefficients 5-7, which makes its result the
// exact 2 x 2 mean, at twice the arithmetic), converted and forward-transformed at a quarter of the pixels;
// those half-size pixels are also the tile one pyramid level down, which the caller gets for free (and
// all a copied frame needs: jpeg_transcoder_half). Entropy decoding is ours (huffman_decode.c, 2.4 times
// libjpeg's speed on slide tiles) for the streams it takes, libjpeg's for the rest; entropy coding is
// libjpeg's. Errors arrive by longjmp, caught in transcode.
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "huffman_decode.h"
#include "jpeg_header.h"
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
    size_t plane_capacity[3];
    /// basis8[u][n] and basis4[u][n]: sample n of basis function u of the orthonormal 8-point DCT, and of
    /// the 4-point one applied to an 8-point DCT's low 4 coefficients (scaled by 1/sqrt 2, so that it gives
    /// the signal at half the sampling rate).
    float basis8[8][8];
    float basis4[4][4];
    /// across4[u] = basis4[u] twice over: one row of two blocks.
    float across4[4][8];
    /// pairs8[u][m] = the mean of basis8[u][2m] and basis8[u][2m + 1]: 8 samples' inverse DCT halved
    /// exactly (the 2 x 1 mean), for chroma at full vertical resolution (4:2:2).
    float pairs8[8][4];
    /// The source's coefficients when our decoder reads them (huffman_decode.c): blocks and row pointers
    /// per component, grown as needed and kept between runs.
    JBLOCKROW blocks[3];
    size_t block_capacity[3];
    JBLOCKROW *rows[3];
    size_t row_capacity[3];
    /// Derived Huffman tables (DC and AC, two each), kept while the streams' tables stay the same.
    huffman_table huffman[2][NUM_HUFF_TBLS];
    /// Every stream goes to libjpeg's decoder (tests compare the two).
    int libjpeg_only;
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
            t->across4[u][n] = t->across4[u][n + 4] = t->basis4[u][n] =
                (float)((u == 0 ? sqrt(1.0 / 4) : sqrt(2.0 / 4)) * cos((2 * n + 1) * u * M_PI / 8) / sqrt(2.0));
    for (int m = 0; m < 4; m++)
        for (int u = 0; u < 8; u++) t->pairs8[u][m] = (t->basis8[u][2 * m] + t->basis8[u][2 * m + 1]) / 2;

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
    for (int c = 0; c < 3; c++) free(t->planes[c]), free(t->blocks[c]), free(t->rows[c]);
    free(t->buffer);
    free(t);
}

const char *jpeg_transcoder_message(const jpeg_transcoder *t) { return t->message; }

void jpeg_transcoder_use_libjpeg_decoder(jpeg_transcoder *t, int only) { t->libjpeg_only = only; }

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
typedef unsigned char v8b __attribute__((vector_size(8)));
typedef unsigned char v16b __attribute__((vector_size(16)));
typedef unsigned char v32b __attribute__((vector_size(32)));

// 256-bit vectors pass through no function boundary (that would need AVX in the baseline clone's ABI):
// the helpers that make them are macros.
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef short v8su __attribute__((vector_size(16), aligned(2)));
typedef short v4su __attribute__((vector_size(8), aligned(2)));
/// (Not `(v8f){0} + x`: adding zero is no no-op for -0, so that costs an add and a register broadcast.)
#define splat8(x) ({ float s_ = (float)(x); (v8f){s_, s_, s_, s_, s_, s_, s_, s_}; })
#define load8(p) ((v8f)(*(const v8u *)(p)))
#define store8(p, v) (*(v8u *)(p) = (v))
/// Eight coefficients of a block row, as floats.
#define coefficients8(p) __builtin_convertvector(*(const v8su *)(p), v8f)

static INLINE v4f coefficients4(const JCOEF *p) { return __builtin_convertvector(*(const v4su *)p, v4f); }

/// Rounds half away from zero, as libjpeg's quantizer does, into baseline's coefficient range.
static INLINE void store_quantized(JCOEF *p, const v8f *value) {
    v8f x = *value;
    v8i rounded = __builtin_convertvector(x + __builtin_elementwise_copysign(splat8(0.5f), x), v8i);
    v8i limit = {1023, 1023, 1023, 1023, 1023, 1023, 1023, 1023};
    rounded = __builtin_elementwise_min(__builtin_elementwise_max(rounded, -limit), limit);
    *(v8su *)p = __builtin_convertvector(rounded, v8s);
}

/// Inverse DCT of the low 4 x 4 coefficients of two blocks side by side (`blocks` and the next) into
/// 4 x 4 samples of each at half size, 8 lanes a row. Down the columns with scalars from memory, then
/// across within each half (in-lane shuffles only).
static INLINE void inverse4_pair(const jpeg_transcoder *t, const JCOEF *blocks, const v8f steps[4], float *out, size_t pitch) {
    v8f f[4];
    for (int v = 0; v < 4; v++)
        f[v] = __builtin_shufflevector(coefficients4(blocks + v * 8), coefficients4(blocks + 64 + v * 8), 0, 1, 2, 3, 4, 5, 6, 7) * steps[v];
    for (int m = 0; m < 4; m++) {
        v8f g = splat8(t->basis4[0][m]) * f[0] + splat8(t->basis4[1][m]) * f[1] + splat8(t->basis4[2][m]) * f[2] +
                splat8(t->basis4[3][m]) * f[3];
        v8f sum = __builtin_shufflevector(g, g, 0, 0, 0, 0, 4, 4, 4, 4) * load8(t->across4[0]) +
                  __builtin_shufflevector(g, g, 1, 1, 1, 1, 5, 5, 5, 5) * load8(t->across4[1]) +
                  __builtin_shufflevector(g, g, 2, 2, 2, 2, 6, 6, 6, 6) * load8(t->across4[2]) +
                  __builtin_shufflevector(g, g, 3, 3, 3, 3, 7, 7, 7, 7) * load8(t->across4[3]);
        store8(out + m * pitch, sum);
    }
}

/// Inverse DCT of one block's low `bh` (8 or 4) x 4 coefficients into `bh` x 4 samples, in plain loops:
/// what inverse4_pair and inverse8 leave (chroma subsampled vertically alone, which is rare; every block
/// 8 samples wide goes to inverse8).
static INLINE void inverse(const jpeg_transcoder *t, const JCOEF *block, const UINT16 *steps, int bh, float *out, size_t pitch) {
    const float *across = &t->basis4[0][0];
    const float *down = bh == 8 ? &t->basis8[0][0] : &t->basis4[0][0];
    float rows[8][4] = {{0}};
    for (int v = 0; v < bh; v++)
        for (int u = 0; u < 4; u++) {
            float c = (float)block[v * 8 + u] * steps[v * 8 + u];
            for (int n = 0; n < 4; n++) rows[v][n] += c * across[u * 4 + n];
        }
    for (int m = 0; m < bh; m++)
        for (int n = 0; n < 4; n++) {
            float sum = 0;
            for (int v = 0; v < bh; v++) sum += down[v * bh + m] * rows[v][n];
            out[m * pitch + n] = sum;
        }
}

/// Inverse DCT of one block into 8 x 8 samples (chroma subsampled 2 x 2, which is at half size already),
/// or into 8 x 4, each the mean of two rows (chroma subsampled 2 x 1): exact, unlike the luma's low-pass
/// (a 4-point inverse of the low coefficients), which for chroma, with twice the luma's sample spacing, would
/// blur stripes a few pixels wide. Down the columns with scalars from memory, then across with each row's
/// lanes broadcast (one swap of 128-bit halves, then in-lane shuffles). Most such blocks hold a DC
/// coefficient alone, or nothing past the low 4 x 4: those take less arithmetic.
static INLINE void inverse8(const jpeg_transcoder *t, const JCOEF *block, const v8f steps[8], int bh, float *out, size_t pitch) {
    const float *down = bh == 8 ? &t->basis8[0][0] : &t->pairs8[0][0];
    const v8su *rows = (const v8su *)block;
    v8s low = rows[1] | rows[2] | rows[3], high = rows[4] | rows[5] | rows[6] | rows[7];
    v8s ac = (rows[0] & (v8s){0, -1, -1, -1, -1, -1, -1, -1}) | low | high;
    if (__builtin_reduce_or(ac) == 0) {
        float dc = (float)block[0] * steps[0][0] * t->basis8[0][0];
        for (int m = 0; m < bh; m++) store8(out + m * pitch, splat8(dc * down[m]));
        return;
    }
    int rows_used = __builtin_reduce_or(high) ? 8 : 4;
    int wide = __builtin_reduce_or((rows[0] | low | high) & (v8s){0, 0, 0, 0, -1, -1, -1, -1}) != 0;
    v8f f[8];
    for (int v = 0; v < rows_used; v++) f[v] = coefficients8(block + v * 8) * steps[v];
    for (int m = 0; m < bh; m++) {
        v8f g = splat8(down[m]) * f[0];
        for (int v = 1; v < rows_used; v++) g += splat8(down[v * bh + m]) * f[v];
        v8f lo = __builtin_shufflevector(g, g, 0, 1, 2, 3, 0, 1, 2, 3);
        v8f sum = __builtin_shufflevector(lo, lo, 0, 0, 0, 0, 4, 4, 4, 4) * load8(t->basis8[0]) +
                  __builtin_shufflevector(lo, lo, 1, 1, 1, 1, 5, 5, 5, 5) * load8(t->basis8[1]) +
                  __builtin_shufflevector(lo, lo, 2, 2, 2, 2, 6, 6, 6, 6) * load8(t->basis8[2]) +
                  __builtin_shufflevector(lo, lo, 3, 3, 3, 3, 7, 7, 7, 7) * load8(t->basis8[3]);
        if (wide) {
            v8f hi = __builtin_shufflevector(g, g, 4, 5, 6, 7, 4, 5, 6, 7);
            sum += __builtin_shufflevector(hi, hi, 0, 0, 0, 0, 4, 4, 4, 4) * load8(t->basis8[4]) +
                   __builtin_shufflevector(hi, hi, 1, 1, 1, 1, 5, 5, 5, 5) * load8(t->basis8[5]) +
                   __builtin_shufflevector(hi, hi, 2, 2, 2, 2, 6, 6, 6, 6) * load8(t->basis8[6]) +
                   __builtin_shufflevector(hi, hi, 3, 3, 3, 3, 7, 7, 7, 7) * load8(t->basis8[7]);
        }
        store8(out + m * pitch, sum);
    }
}

/// AAN's 8-point forward DCT (libjpeg's jfdctflt.c) down eight row vectors at once, in place: output k
/// is the orthonormal DCT's times 8 aan_scale[k] (2-D: aan_scale[v] aan_scale[u]), folded into the divisors.
static INLINE void aan8(v8f d[8]) {
    v8f tmp0 = d[0] + d[7], tmp7 = d[0] - d[7], tmp1 = d[1] + d[6], tmp6 = d[1] - d[6];
    v8f tmp2 = d[2] + d[5], tmp5 = d[2] - d[5], tmp3 = d[3] + d[4], tmp4 = d[3] - d[4];
    v8f tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    d[0] = tmp10 + tmp11;
    d[4] = tmp10 - tmp11;
    v8f z1 = (tmp12 + tmp13) * splat8(0.707106781f);
    d[2] = tmp13 + z1;
    d[6] = tmp13 - z1;
    tmp10 = tmp4 + tmp5;
    tmp11 = tmp5 + tmp6;
    tmp12 = tmp6 + tmp7;
    v8f z5 = (tmp10 - tmp12) * splat8(0.382683433f);
    v8f z2 = splat8(0.541196100f) * tmp10 + z5, z4 = splat8(1.306562965f) * tmp12 + z5, z3 = tmp11 * splat8(0.707106781f);
    v8f z11 = tmp7 + z3, z13 = tmp7 - z3;
    d[5] = z13 + z2;
    d[3] = z13 - z2;
    d[1] = z11 + z4;
    d[7] = z11 - z4;
}

/// Transposes eight rows of eight (unpack, shuffle, then swap 128-bit halves: 24 shuffles).
static INLINE void transpose8(v8f r[8]) {
    v8f t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13), t1 = __builtin_shufflevector(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15);
    v8f t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13), t3 = __builtin_shufflevector(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15);
    v8f t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 1, 9, 4, 12, 5, 13), t5 = __builtin_shufflevector(r[4], r[5], 2, 10, 3, 11, 6, 14, 7, 15);
    v8f t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 1, 9, 4, 12, 5, 13), t7 = __builtin_shufflevector(r[6], r[7], 2, 10, 3, 11, 6, 14, 7, 15);
    v8f u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    v8f u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    r[0] = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);
    r[1] = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);
    r[2] = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);
    r[3] = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);
    r[4] = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);
    r[5] = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);
    r[6] = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);
    r[7] = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);
}

/// Forward 8 x 8 DCT of the rows `x` (destroyed), quantized by `divisors` (reciprocals of the quantization
/// steps times AAN's scale factors: aan_divisors) into `block`: down the columns, transpose, down again,
/// transpose back.
static INLINE void forward(v8f x[8], const v8f divisors[8], JCOEF *block) {
    aan8(x);
    transpose8(x);
    aan8(x);
    transpose8(x);
    for (int v = 0; v < 8; v++) {
        v8f quantized = x[v] * divisors[v];
        store_quantized(block + v * 8, &quantized);
    }
}

/// The divisors for `forward`'s output of quantization steps `steps`.
static void aan_divisors(const UINT16 *steps, v8f divisors[8]) {
    static const double scale[8] = {1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.541196100, 0.275899379};
    for (int k = 0; k < 64; k++) divisors[k / 8][k % 8] = (float)(1.0 / (steps[k] * scale[k / 8] * scale[k % 8] * 8.0));
}

/// Every block of source component `c` (quantized by `steps`), inverse-transformed at half size into plane `c`.
KERNEL static void half_plane(jpeg_transcoder *t, const JBLOCKROW *rows, const UINT16 *steps, int c, size_t pitch) {
    jpeg_component_info *component = &t->in.comp_info[c];
    int bw = 4 * t->in.max_h_samp_factor / component->h_samp_factor;
    int bh = 4 * t->in.max_v_samp_factor / component->v_samp_factor;
    v8f steps8[4], steps_rows[8];
    for (int v = 0; v < 4; v++)
        for (int u = 0; u < 8; u++) steps8[v][u] = steps[v * 8 + u % 4];
    for (int k = 0; k < 64; k++) steps_rows[k / 8][k % 8] = steps[k];
    for (JDIMENSION by = 0; by < component->height_in_blocks; by++) {
        const JCOEF *row = rows[by][0];
        JDIMENSION bx = 0;
        // Pairs of 4 x 4 blocks (sides are multiples of 16, so there is no odd one out); the general
        // inverse takes any other block.
        if (bw == 4 && bh == 4)
            for (; bx + 1 < component->width_in_blocks; bx += 2)
                inverse4_pair(t, row + bx * 64, steps8, t->planes[c] + (size_t)by * 4 * pitch + (size_t)bx * 4, pitch);
        if (bw == 8)
            for (; bx < component->width_in_blocks; bx++)
                inverse8(t, row + bx * 64, steps_rows, bh, t->planes[c] + (size_t)by * bh * pitch + (size_t)bx * 8, pitch);
        for (; bx < component->width_in_blocks; bx++)
            inverse(t, row + bx * 64, steps, bh, t->planes[c] + (size_t)by * bh * pitch + (size_t)bx * 4, pitch);
    }
}

/// Output component `target` as a weighted sum of the source's three full-resolution components
/// (`weights`; one source component alone is a requantization), coefficient by coefficient.
KERNEL static void combine(JBLOCKROW *const source[3], const UINT16 *const source_steps[3], JBLOCKROW *target, const float weights[3],
                           const UINT16 *steps, JDIMENSION width, JDIMENSION height) {
    v8f scale[3][8];
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 64; k++) scale[c][k / 8][k % 8] = weights[c] * source_steps[c][k] / (float)steps[k];
    for (JDIMENSION by = 0; by < height; by++) {
        JCOEF *out = target[by][0];
        const JCOEF *in[3];
        for (int c = 0; c < 3; c++) in[c] = weights[c] != 0 ? source[c][by][0] : NULL;
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
static void requantize(jpeg_transcoder *t, JBLOCKROW *const source[3], const UINT16 *const source_steps[3], int c, JBLOCKROW *target,
                       const UINT16 *steps) {
    float weights[3] = {0, 0, 0};
    weights[c] = 1;
    combine(source, source_steps, target, weights, steps, t->in.comp_info[c].width_in_blocks, t->in.comp_info[c].height_in_blocks);
}

static const float luma[3] = {0.299f, 0.587f, 0.114f};
static const float blue[3] = {-0.168736f, -0.331264f, 0.5f};
static const float red[3] = {0.5f, -0.418688f, -0.081312f};

/// 2 x 2 subsampled chroma from the half-size planes (R, G, B, or the source's Cb and Cr), a block per
/// 8 x 8 samples.
KERNEL static void subsampled_chroma(jpeg_transcoder *t, JBLOCKROW *cb, JBLOCKROW *cr, int rgb, const UINT16 *steps,
                                     JDIMENSION width, JDIMENSION height) {
    v8f divisors[8];
    aan_divisors(steps, divisors);
    size_t pitch = width / 2;
    for (JDIMENSION by = 0; by < height / 16; by++) {
        JCOEF *blue_row = cb[by][0], *red_row = cr[by][0];
        for (JDIMENSION bx = 0; bx < width / 16; bx++) {
            size_t at = (size_t)by * 8 * pitch + (size_t)bx * 8;
            v8f u[8], v[8];
            for (int m = 0; m < 8; m++) {
                v8f a = load8(t->planes[0] + at + m * pitch), b = load8(t->planes[1] + at + m * pitch), c = load8(t->planes[2] + at + m * pitch);
                if (rgb) {
                    u[m] = splat8(blue[0]) * a + splat8(blue[1]) * b + splat8(blue[2]) * c;
                    v[m] = splat8(red[0]) * a + splat8(red[1]) * b + splat8(red[2]) * c;
                } else {
                    u[m] = b, v[m] = c;
                }
            }
            forward(u, divisors, blue_row + bx * 64);
            forward(v, divisors, red_row + bx * 64);
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
            if (width - x >= 8) {
                // Interleaved into 24 bytes: R, G and B side by side, then shuffled into pixel order.
                v16b rg = __builtin_shufflevector(__builtin_convertvector(samples[0], v8b), __builtin_convertvector(samples[1], v8b),
                                                  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                v8b bb = __builtin_convertvector(samples[2], v8b);
                v16b b_ = __builtin_shufflevector(bb, bb, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
                v32b all = __builtin_shufflevector(rg, b_, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                                   21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
                v32b pixels = __builtin_shufflevector(all, all, 0, 8, 16, 1, 9, 17, 2, 10, 18, 3, 11, 19, 4, 12, 20, 5, 13, 21, 6, 14,
                                                      22, 7, 15, 23, 0, 0, 0, 0, 0, 0, 0, 0);
                memcpy(row + 3 * x, &pixels, 24);
                continue;
            }
            for (int i = 0; i < width - x; i++) {
                row[3 * (x + i)] = (unsigned char)samples[0][i];
                row[3 * (x + i) + 1] = (unsigned char)samples[1][i];
                row[3 * (x + i) + 2] = (unsigned char)samples[2][i];
            }
        }
    }
}

// MARK: the run

/// Makes `*buffer` hold at least `count` items of `size` bytes, its contents not kept (scratch that
/// grows to the largest tile and stays). 0 when out of memory.
static int reserve(void **buffer, size_t *capacity, size_t count, size_t size) {
    if (count <= *capacity) return 1;
    free(*buffer);
    *capacity = 0;
    if (!(*buffer = malloc(count * size))) return 0;
    *capacity = count;
    return 1;
}

/// Decodes the scan with huffman_decode.c into the transcoder's own blocks, and points `steps` at each
/// component's quantization steps, when it is of the kind that decoder takes (one interleaved sequential
/// scan of all three components, every table defined in the header). 0 when it is not, or when its data
/// is damaged: libjpeg reads it then.
static int read_fast(jpeg_transcoder *t, JBLOCKROW *rows[3], const UINT16 *steps[3]) {
    struct jpeg_decompress_struct *in = &t->in;
    if (t->libjpeg_only || in->progressive_mode || in->arith_code || in->comps_in_scan != 3 || in->Ss != 0 || in->Se != 63 ||
        in->Ah != 0 || in->Al != 0)
        return 0;
    // A single scan keeps the tables the header defines (libjpeg latches them as the scan starts).
    for (int c = 0; c < 3; c++) {
        int number = in->comp_info[c].quant_tbl_no;
        if (number < 0 || number >= NUM_QUANT_TBLS || !in->quant_tbl_ptrs[number]) return 0;
        steps[c] = in->quant_tbl_ptrs[number]->quantval;
    }
    int mcus_across = (int)((in->image_width + 8 * in->max_h_samp_factor - 1) / (8 * in->max_h_samp_factor));
    int mcus_down = (int)((in->image_height + 8 * in->max_v_samp_factor - 1) / (8 * in->max_v_samp_factor));
    huffman_component components[3];
    for (int i = 0; i < 3; i++) {
        jpeg_component_info *info = in->cur_comp_info[i];
        int c = info->component_index;
        // The scan header's table numbers are not checked yet (libjpeg does as its decoder starts).
        if (info->dc_tbl_no < 0 || info->dc_tbl_no >= NUM_HUFF_TBLS || info->ac_tbl_no < 0 || info->ac_tbl_no >= NUM_HUFF_TBLS) return 0;
        JHUFF_TBL *dc = in->dc_huff_tbl_ptrs[info->dc_tbl_no], *ac = in->ac_huff_tbl_ptrs[info->ac_tbl_no];
        if (c < 0 || c > 2 || !dc || !ac || !huffman_table_prepare(&t->huffman[0][info->dc_tbl_no], dc, 0) ||
            !huffman_table_prepare(&t->huffman[1][info->ac_tbl_no], ac, 1))
            return 0;
        size_t across = (size_t)mcus_across * info->h_samp_factor, down = (size_t)mcus_down * info->v_samp_factor;
        if (!reserve((void **)&t->blocks[c], &t->block_capacity[c], across * down, sizeof(JBLOCK)) ||
            !reserve((void **)&t->rows[c], &t->row_capacity[c], down, sizeof(JBLOCKROW)))
            return 0;
        for (size_t y = 0; y < down; y++) t->rows[c][y] = t->blocks[c] + y * across;
        rows[c] = t->rows[c];
        components[i] = (huffman_component){info->h_samp_factor, info->v_samp_factor, &t->huffman[0][info->dc_tbl_no],
                                            &t->huffman[1][info->ac_tbl_no], t->rows[c]};
    }
    return huffman_decode_scan(in->src->next_input_byte, in->src->bytes_in_buffer, components, 3, mcus_across, mcus_down,
                               (int)in->restart_interval);
}

/// Reads `source`'s header, `afresh` with a new decompressor: for a stream that does not define its own
/// tables (jpeg_defines_own_tables), and for every stream libjpeg's decoder reads (which may have later
/// scans), so that what comes out does not depend on the streams before it (libjpeg keeps their tables).
static void read_header(jpeg_transcoder *t, const unsigned char *source, size_t source_size, int afresh) {
    if (afresh) {
        jpeg_destroy_decompress(&t->in);
        jpeg_create_decompress(&t->in);
    }
    jpeg_mem_src(&t->in, source, (unsigned long)source_size);
    jpeg_read_header(&t->in, TRUE);
}

/// All `count` rows of a realized virtual array, through the transcoder's scratch row pointers for
/// component `c` (libjpeg's own arrays are read a row at a time).
static JBLOCKROW *rows_of(jpeg_transcoder *t, jvirt_barray_ptr array, int c, JDIMENSION count) {
    if (!reserve((void **)&t->rows[c], &t->row_capacity[c], count, sizeof(JBLOCKROW))) ERREXIT(&t->in, JERR_OUT_OF_MEMORY);
    for (JDIMENSION y = 0; y < count; y++) t->rows[c][y] = (*t->in.mem->access_virt_barray)((j_common_ptr)&t->in, array, y, 1, FALSE)[0];
    return t->rows[c];
}

/// jpeg_transcoder_run, or jpeg_transcoder_half when `output` is NULL.
static int transcode(jpeg_transcoder *t, const unsigned char *source, size_t source_size, const unsigned char **output,
                     size_t *output_size, unsigned char *half, int half_pitch, int half_width, int half_height) {
    if (setjmp(t->escape)) {
        jpeg_abort_decompress(&t->in);
        jpeg_abort_compress(&t->out);
        return JPEG_TRANSCODE_ERROR;
    }
    int fresh = !jpeg_defines_own_tables(source, source_size);
    read_header(t, source, source_size, fresh);
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
    int encodes = output != NULL;
    if (!(rgb || ycc) || in->data_precision != 8 || width % 16 || height % 16 || c1->h_samp_factor != 1 || c1->v_samp_factor != 1 ||
        c2->h_samp_factor != 1 || c2->v_samp_factor != 1 ||
        (encodes && ((t->subsampling != 420 && t->subsampling != 444) || (t->subsampling == 444 && !chroma_full))) ||
        (half && (half_width > (int)width / 2 || half_height > (int)height / 2)) || (!encodes && !half)) {
        jpeg_abort_decompress(in);
        return JPEG_TRANSCODE_UNSUPPORTED;
    }
    // The source's coefficients: by our decoder, or by libjpeg's (jpeg_read_coefficients) for the
    // streams ours leaves to it.
    JBLOCKROW *rows[3];
    const UINT16 *source_steps[3];
    int ours = read_fast(t, rows, source_steps);
    if (!ours && !encodes) {
        // Half-size pixels alone of a stream ours does not take (progressive, damaged):
        // TurboJPEG's scaled decoding makes them faster than libjpeg's coefficients would.
        jpeg_abort_decompress(in);
        return JPEG_TRANSCODE_UNSUPPORTED;
    }
    if (!ours && !fresh) {
        read_header(t, source, source_size, 1);  // the header as before, in new memory
        c0 = &in->comp_info[0];
    }
    // The output's coefficient arrays, from the decompressor's pool (as jpegtran does), read whole.
    jvirt_barray_ptr target[3];
    JDIMENSION target_rows[3];
    for (int c = 0; c < 3 && encodes; c++) {
        int factor = c == 0 ? th : 1;
        target_rows[c] = height * factor / (8 * th);
        target[c] = (*in->mem->request_virt_barray)((j_common_ptr)in, JPOOL_IMAGE, FALSE, width * factor / (8 * th), target_rows[c],
                                                    target_rows[c]);
    }
    if (ours) {
        if (encodes) (*in->mem->realize_virt_arrays)((j_common_ptr)in);
    } else {
        jvirt_barray_ptr *coefficients = jpeg_read_coefficients(in);
        // A component that no scan carried (a damaged progressive stream) has no quantization table.
        for (int c = 0; c < 3; c++) {
            if (!in->comp_info[c].quant_table) ERREXIT1(in, JERR_NO_QUANT_TABLE, c);
            source_steps[c] = in->comp_info[c].quant_table->quantval;
            rows[c] = rows_of(t, coefficients[c], c, in->comp_info[c].height_in_blocks);
        }
    }
    // Chroma kept as it is: the source's, at the output's sampling.
    int same_chroma = ycc && c0->h_samp_factor == th && c0->v_samp_factor == th;
    size_t pitch = width / 2, plane = (size_t)(width / 2) * (height / 2);
    if (half != NULL || (encodes && th == 2 && !same_chroma)) {
        for (int c = 0; c < 3; c++)
            if (!reserve((void **)&t->planes[c], &t->plane_capacity[c], plane, sizeof(float))) ERREXIT(in, JERR_OUT_OF_MEMORY);
        for (int c = 0; c < 3; c++) half_plane(t, rows[c], source_steps[c], c, pitch);
    }
    if (half) half_rgb(t, rgb, pitch, half, half_pitch, half_width, half_height);
    if (!encodes) {
        if (ours) jpeg_abort_decompress(in);
        else jpeg_finish_decompress(in);
        return JPEG_TRANSCODE_OK;
    }

    JBLOCKROW *targets[3];
    for (int c = 0; c < 3; c++) targets[c] = (*in->mem->access_virt_barray)((j_common_ptr)in, target[c], 0, target_rows[c], TRUE);

    struct jpeg_compress_struct *out = &t->out;
    const UINT16 *luma_steps = out->quant_tbl_ptrs[0]->quantval, *chroma_steps = out->quant_tbl_ptrs[1]->quantval;

    // Luma: a weighted sum of R, G and B, or the source's luma requantized.
    if (rgb) combine(rows, source_steps, targets[0], luma, luma_steps, width / 8, height / 8);
    else requantize(t, rows, source_steps, 0, targets[0], luma_steps);
    // Chroma: kept, a weighted sum at full resolution, or subsampled through the half-size planes.
    if (same_chroma) {
        requantize(t, rows, source_steps, 1, targets[1], chroma_steps);
        requantize(t, rows, source_steps, 2, targets[2], chroma_steps);
    } else if (th == 1) {
        combine(rows, source_steps, targets[1], blue, chroma_steps, width / 8, height / 8);
        combine(rows, source_steps, targets[2], red, chroma_steps, width / 8, height / 8);
    } else {
        subsampled_chroma(t, targets[1], targets[2], rgb, chroma_steps, width, height);
    }
    out->image_width = width;
    out->image_height = height;
    out->comp_info[0].h_samp_factor = th;
    out->comp_info[0].v_samp_factor = th;
    jpeg_write_coefficients(out, target);
    jpeg_finish_compress(out);
    if (ours) jpeg_abort_decompress(in);  // the decompressor never left the header
    else jpeg_finish_decompress(in);
    *output = t->buffer;
    *output_size = t->size;
    return JPEG_TRANSCODE_OK;
}

int jpeg_transcoder_run(jpeg_transcoder *t, const unsigned char *source, size_t source_size,
                        const unsigned char **output, size_t *output_size,
                        unsigned char *half, int half_pitch, int half_width, int half_height) {
    return transcode(t, source, source_size, output, output_size, half, half_pitch, half_width, half_height);
}

int jpeg_transcoder_half(jpeg_transcoder *t, const unsigned char *source, size_t source_size,
                         unsigned char *half, int half_pitch, int half_width, int half_height) {
    return transcode(t, source, source_size, NULL, NULL, half, half_pitch, half_width, half_height);
}
