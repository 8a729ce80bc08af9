// libFuzzer entry point for our JPEG entropy decoder and DCT-domain transcoder (Sources/CJPEGTranscode):
// hand-written C over untrusted tile bytes. Differential: every input is transcoded twice, once with our
// entropy decoder and once with libjpeg's alone, and the two must agree (the same outcome, the same
// output bytes, the same half-size pixels); half-size decoding alone must give those pixels too. A
// crash, a sanitizer report or a disagreement stops the run. Built and run by tools/fuzz/run.sh jpeg (not
// part of the package build); built with -DJPEG_FUZZ_SEEDS it is instead a program that writes seed
// streams of every kind the decoder takes or declines into the folder it is given.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef JPEG_FUZZ_SEEDS
#include <jpeglib.h>

/// Tissue-like pixels: smooth blobs of pink and purple over white, with grain.
static void paint(unsigned char *rgb, int width, int height) {
    uint32_t state = 12345;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            state = state * 1664525u + 1013904223u;
            int grain = (int)(state >> 28) - 8;
            int dx = x - width / 3, dy = y - height / 2, blob = dx * dx + dy * dy < width * height / 8;
            int stripe = ((x / 5 + y / 7) % 3) == 0;
            unsigned char *p = rgb + 3 * (y * width + x);
            p[0] = (unsigned char)(blob ? 200 + grain : 235 + grain / 2);
            p[1] = (unsigned char)(blob ? (stripe ? 90 : 130) + grain : 232 + grain / 2);
            p[2] = (unsigned char)(blob ? (stripe ? 190 : 170) + grain : 238 + grain / 2);
        }
}

/// Writes one stream: `rgb_coded` (no colour transform, as Aperio's tiles) or YCbCr with luma sampled
/// `h` x `v`; restart markers every `restart` MCUs; optimized tables; progressive.
static void write_seed(const char *folder, const char *name, const unsigned char *rgb, int width, int height, int quality,
                       int rgb_coded, int h, int v, int restart, int optimize, int progressive) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.jpg", folder, name);
    FILE *file = fopen(path, "wb");
    if (!file) { perror(path); exit(1); }
    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    info.err = jpeg_std_error(&errors);
    jpeg_create_compress(&info);
    jpeg_stdio_dest(&info, file);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    if (rgb_coded) jpeg_set_colorspace(&info, JCS_RGB);
    jpeg_set_quality(&info, quality, TRUE);
    if (!rgb_coded) info.comp_info[0].h_samp_factor = h, info.comp_info[0].v_samp_factor = v;
    info.restart_interval = (unsigned)restart;
    info.optimize_coding = optimize ? TRUE : FALSE;
    if (progressive) jpeg_simple_progression(&info);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + 3 * (size_t)info.next_scanline * width);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    fclose(file);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s FOLDER\n", argv[0]); return 2; }
    enum { W = 96, H = 64 };
    static unsigned char rgb[W * H * 3];
    paint(rgb, W, H);
    write_seed(argv[1], "rgb-coded-444", rgb, W, H, 80, 1, 1, 1, 0, 0, 0);
    write_seed(argv[1], "ycbcr-420", rgb, W, H, 90, 0, 2, 2, 0, 0, 0);
    write_seed(argv[1], "ycbcr-422", rgb, W, H, 90, 0, 2, 1, 0, 0, 0);
    write_seed(argv[1], "ycbcr-444-q100", rgb, W, H, 100, 0, 1, 1, 0, 0, 0);
    write_seed(argv[1], "ycbcr-420-restarts", rgb, W, H, 90, 0, 2, 2, 2, 0, 0);
    write_seed(argv[1], "ycbcr-422-restarts", rgb, W, H, 85, 0, 2, 1, 3, 0, 0);
    write_seed(argv[1], "rgb-coded-restarts", rgb, W, H, 90, 1, 1, 1, 5, 0, 0);
    write_seed(argv[1], "ycbcr-420-optimized", rgb, W, H, 75, 0, 2, 2, 0, 1, 0);
    write_seed(argv[1], "ycbcr-420-progressive", rgb, W, H, 90, 0, 2, 2, 0, 0, 1);
    write_seed(argv[1], "odd-size", rgb, 40, 24, 90, 0, 2, 2, 0, 0, 0);
    return 0;
}

#else
#include "jpeg_transcode.h"

/// The frame size from the first SOF marker, so that headers claiming gigapixels are skipped (they
/// only exercise allocation failure, slowly). 0 when there is none.
static int frame_size(const uint8_t *data, size_t size, int *width, int *height) {
    for (size_t i = 0; i + 9 < size; i++)
        if (data[i] == 0xFF && data[i + 1] >= 0xC0 && data[i + 1] <= 0xC2) {
            *height = data[i + 5] << 8 | data[i + 6];
            *width = data[i + 7] << 8 | data[i + 8];
            return 1;
        }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static jpeg_transcoder *ours, *libjpeg, *half_only;
    enum { MAX_HALF = 1024 };
    static unsigned char half_ours[MAX_HALF * MAX_HALF * 3], half_libjpeg[MAX_HALF * MAX_HALF * 3], half_alone[MAX_HALF * MAX_HALF * 3];
    if (!ours) {
        ours = jpeg_transcoder_create(90, 420);
        libjpeg = jpeg_transcoder_create(90, 420);
        half_only = jpeg_transcoder_create(90, 420);
        if (!ours || !libjpeg || !half_only) abort();
        jpeg_transcoder_use_libjpeg_decoder(libjpeg, 1);
    }
    int width, height;
    if (!frame_size(data, size, &width, &height) || (long)width * height > 4 << 20) return 0;
    int hw = width / 2 < MAX_HALF ? width / 2 : MAX_HALF, hh = height / 2 < MAX_HALF ? height / 2 : MAX_HALF;
    size_t half_bytes = (size_t)hw * hh * 3;
    memset(half_ours, 1, half_bytes);
    memset(half_libjpeg, 2, half_bytes);
    memset(half_alone, 3, half_bytes);

    const unsigned char *a = NULL, *b = NULL;
    size_t a_size = 0, b_size = 0;
    int status_ours = jpeg_transcoder_run(ours, data, size, &a, &a_size, half_ours, hw * 3, hw, hh);
    int status_libjpeg = jpeg_transcoder_run(libjpeg, data, size, &b, &b_size, half_libjpeg, hw * 3, hw, hh);
    if (status_ours != status_libjpeg) {
        fprintf(stderr, "outcomes differ: ours %d, libjpeg's %d (%s)\n", status_ours, status_libjpeg, jpeg_transcoder_message(libjpeg));
        abort();
    }
    if (status_ours == JPEG_TRANSCODE_OK) {
        if (a_size != b_size || memcmp(a, b, a_size) != 0) { fprintf(stderr, "transcoded streams differ\n"); abort(); }
        if (memcmp(half_ours, half_libjpeg, half_bytes) != 0) { fprintf(stderr, "half-size pixels differ\n"); abort(); }
    }
    int status_alone = jpeg_transcoder_half(half_only, data, size, half_alone, hw * 3, hw, hh);
    if (status_alone == JPEG_TRANSCODE_OK) {
        // Half-size decoding alone takes only what our decoder reads, which the transcoder reads too.
        if (status_ours != JPEG_TRANSCODE_OK) { fprintf(stderr, "half-size decoding alone took a stream the transcoder did not\n"); abort(); }
        if (memcmp(half_alone, half_ours, half_bytes) != 0) { fprintf(stderr, "half-size decoding alone differs\n"); abort(); }
    }
    return 0;
}
#endif
