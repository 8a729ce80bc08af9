#ifndef PIXEL_KERNELS_H
#define PIXEL_KERNELS_H

#include <stdint.h>

/// One output row of a 2 x 2 area average of interleaved RGB: `pairs` output pixels, each the rounded
/// mean of two neighbouring pixels of `row0` and of `row1` ((sum + 2) / 4). Written with vector types
/// (shuffles of 16 bytes), with an AVX2 clone: the lower pyramid levels are made by it.
void pixel_halve_rgb_row(const unsigned char *row0, const unsigned char *row1, unsigned char *out, int pairs);

/// `count` pixels of premultiplied ARGB (OpenSlide's 32-bit native-endian pixels) to interleaved RGB,
/// composited over the background colour (`r`, `g`, `b`). Opaque runs, nearly all of a slide, are a byte
/// shuffle; the rest is rounded as (channel + background * (255 - alpha) / 255), saturated.
void pixel_argb_over_rgb(const uint32_t *argb, unsigned char *rgb, long count, unsigned char r, unsigned char g, unsigned char b);

#endif
