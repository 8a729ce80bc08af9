// A walk over a JPEG stream's header, before libjpeg reads it (see include/jpeg_header.h).
#include "jpeg_header.h"

int jpeg_defines_own_tables(const unsigned char *data, size_t size) {
    unsigned quant = 0, dc = 0, ac = 0, quant_used = 0;
    int frame_components = -1;
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return 0;
    for (size_t at = 2; at + 4 <= size;) {
        if (data[at] != 0xFF) return 0;
        if (data[at + 1] == 0xFF) {  // fill before a marker
            at++;
            continue;
        }
        int marker = data[at + 1];
        size_t length = (size_t)data[at + 2] << 8 | data[at + 3], end = at + 2 + length;
        if (length < 2 || end > size) return 0;
        const unsigned char *p = data + at + 4;
        size_t n = length - 2;
        if (marker == 0xC0 || marker == 0xC1) {  // baseline or extended sequential, Huffman-coded
            if (n < 6 || n < 6 + 3 * (size_t)p[5]) return 0;
            frame_components = p[5];
            for (int i = 0; i < frame_components; i++) {
                int table = p[6 + 3 * i + 2];
                if (table >= 4) return 0;
                quant_used |= 1u << table;
            }
        } else if (marker >= 0xC2 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
            return 0;  // progressive, lossless or arithmetic-coded: several scans, or tables of other kinds
        } else if (marker == 0xDB) {
            for (size_t i = 0; i < n;) {
                int table = p[i] & 15;
                if (table >= 4) return 0;
                quant |= 1u << table;
                i += 1 + (p[i] >> 4 ? 128 : 64);
            }
        } else if (marker == 0xC4) {
            for (size_t i = 0; i < n;) {
                if (i + 17 > n) return 0;
                int table = p[i] & 15;
                size_t count = 0;
                for (int k = 1; k <= 16; k++) count += p[i + k];
                if (table >= 4) return 0;
                *(p[i] >> 4 ? &ac : &dc) |= 1u << table;
                i += 17 + count;
            }
        } else if (marker == 0xDA) {
            if (n < 1 || n < 1 + 2 * (size_t)p[0] || frame_components < 1 || p[0] != frame_components) return 0;
            for (int i = 0; i < p[0]; i++) {
                int d = p[2 + 2 * i] >> 4, a = p[2 + 2 * i] & 15;
                if (d >= 4 || a >= 4 || !(dc >> d & 1) || !(ac >> a & 1)) return 0;
            }
            return (quant_used & ~quant) == 0;
        }
        at = end;
    }
    return 0;
}
