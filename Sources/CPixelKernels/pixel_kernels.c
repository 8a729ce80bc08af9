// Pixel kernels where Swift's scalar loops were the cost (see include/pixel_kernels.h).
#include <stdint.h>
#include <string.h>

#include "pixel_kernels.h"

#if defined(__x86_64__) && defined(__ELF__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

typedef uint8_t v16b __attribute__((vector_size(16)));
typedef uint8_t v16b_unaligned __attribute__((vector_size(16), aligned(1)));
typedef uint16_t v16w __attribute__((vector_size(32)));

KERNEL void pixel_halve_rgb_row(const unsigned char *row0, const unsigned char *row1, unsigned char *out, int pairs) {
    int x = 0;
    // Four output pixels from eight input pixels (24 bytes, as two overlapping 16-byte loads) of each row:
    // the first and the second pixel of each pair gathered into lanes, widened, summed.
    for (; x + 4 <= pairs; x += 4) {
        v16b a0 = *(const v16b_unaligned *)(row0 + 6 * x), a1 = *(const v16b_unaligned *)(row0 + 6 * x + 8);
        v16b b0 = *(const v16b_unaligned *)(row1 + 6 * x), b1 = *(const v16b_unaligned *)(row1 + 6 * x + 8);
        v16b first0 = __builtin_shufflevector(a0, a1, 0, 1, 2, 6, 7, 8, 12, 13, 14, 26, 27, 28, 0, 0, 0, 0);
        v16b second0 = __builtin_shufflevector(a0, a1, 3, 4, 5, 9, 10, 11, 15, 24, 25, 29, 30, 31, 0, 0, 0, 0);
        v16b first1 = __builtin_shufflevector(b0, b1, 0, 1, 2, 6, 7, 8, 12, 13, 14, 26, 27, 28, 0, 0, 0, 0);
        v16b second1 = __builtin_shufflevector(b0, b1, 3, 4, 5, 9, 10, 11, 15, 24, 25, 29, 30, 31, 0, 0, 0, 0);
        v16w sum = __builtin_convertvector(first0, v16w) + __builtin_convertvector(second0, v16w) + __builtin_convertvector(first1, v16w) +
                   __builtin_convertvector(second1, v16w) + 2;
        v16b mean = __builtin_convertvector(sum >> 2, v16b);
        memcpy(out + 3 * x, &mean, 12);
    }
    for (; x < pairs; x++)
        for (int c = 0; c < 3; c++)
            out[3 * x + c] = (unsigned char)((row0[6 * x + c] + row0[6 * x + 3 + c] + row1[6 * x + c] + row1[6 * x + 3 + c] + 2) >> 2);
}

typedef uint32_t v4u __attribute__((vector_size(16)));
typedef uint32_t v4u_unaligned __attribute__((vector_size(16), aligned(4)));

static inline unsigned char over_channel(uint32_t channel, uint32_t background, uint32_t transparency) {
    uint32_t v = channel + (background * transparency + 127) / 255;
    return (unsigned char)(v > 255 ? 255 : v);
}

static inline void argb_over_rgb_pixel(uint32_t v, unsigned char *rgb, unsigned char r, unsigned char g, unsigned char b) {
    uint32_t t = 255 - (v >> 24);
    rgb[0] = over_channel(v >> 16 & 0xFF, r, t);
    rgb[1] = over_channel(v >> 8 & 0xFF, g, t);
    rgb[2] = over_channel(v & 0xFF, b, t);
}

KERNEL void pixel_argb_over_rgb(const uint32_t *argb, unsigned char *rgb, long count, unsigned char r, unsigned char g, unsigned char b) {
    long i = 0;
    for (; i + 4 <= count; i += 4) {
        v4u quad = *(const v4u_unaligned *)(argb + i);
        v4u alpha = quad >> 24;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if ((alpha[0] & alpha[1] & alpha[2] & alpha[3]) == 255) {
            // Little-endian bytes of each pixel: B, G, R, A.
            v16b bytes = (v16b)quad;
            v16b packed = __builtin_shufflevector(bytes, bytes, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 0, 0, 0, 0);
            memcpy(rgb + 3 * i, &packed, 12);
            continue;
        }
#else
        (void)alpha;
#endif
        for (long k = i; k < i + 4; k++) argb_over_rgb_pixel(argb[k], rgb + 3 * k, r, g, b);
    }
    for (; i < count; i++) argb_over_rgb_pixel(argb[i], rgb + 3 * i, r, g, b);
}
