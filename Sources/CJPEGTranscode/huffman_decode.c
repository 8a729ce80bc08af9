// Entropy decoding of baseline JPEG scans, the largest cost of re-encoding in the DCT domain.
//
// libjpeg's decoder reads a code and then its value bits in two steps, derives its tables again for
// every stream and zeroes each stream's coefficient arrays as it allocates them. This one decodes a
// coefficient whose code and value bits together fit in HUFFMAN_FAST_BITS with one table read (most of
// them, in slide tiles), refills a 64-bit buffer several bytes at a time where no 0xFF is near, and keeps
// its tables while the streams' tables stay the same (an SVS's tiles share one JPEGTables). It takes the
// common case only: one interleaved sequential scan (restart markers in order), intact data; anything
// else is left to libjpeg.
#include <limits.h>
#include <string.h>

#include "huffman_decode.h"

#if defined(__x86_64__) && defined(__ELF__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

#define FAST HUFFMAN_FAST_BITS
/// In a fast_ac entry: the code is the end of the block.
#define END_OF_BLOCK 0x4000
/// The value of `s` raw bits `v` (JPEG's EXTEND: the lower half of the range is negative).
#define EXTEND(v, s) ((v) < (1 << ((s) - 1)) ? (v) - (1 << (s)) + 1 : (v))

/// Zigzag position to natural (row-major) position, with 16 extra entries so that a corrupt run past
/// the block's end lands on its last coefficient, as in libjpeg, instead of outside it.
static const uint8_t natural[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,
    6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
    39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
};

int huffman_table_prepare(huffman_table *table, const JHUFF_TBL *source, int ac) {
    uint8_t key[sizeof table->source];
    memcpy(key, source->bits, 17);
    key[0] = (uint8_t)(ac + 1);  // bits[0] is unused: it marks the kind, and that the table is derived
    memcpy(key + 17, source->huffval, 256);
    if (memcmp(key, table->source, sizeof key) == 0) return 1;
    memset(table->source, 0, sizeof table->source);

    memset(table->fast, 0, sizeof table->fast);
    memset(table->fast_ac, 0, sizeof table->fast_ac);
    int code = 0, k = 0;
    for (int length = 1; length <= 16; length++) {
        int count = source->bits[length];
        if (k + count > 256) return 0;
        table->offset[length] = k - code;
        table->maxcode[length] = count ? code + count - 1 : -1;
        for (int i = 0; i < count; i++, code++, k++) {
            // The codes of a length must fit in it, all ones excluded (as libjpeg checks): checked before
            // the code indexes the tables.
            if (code + 1 >= 1 << length) return 0;
            uint8_t symbol = source->huffval[k];
            // A DC symbol is a size, 0-15 (libjpeg rejects the table otherwise, used or not).
            if (!ac && symbol > 15) return 0;
            table->symbols[k] = symbol;
            if (length > FAST) continue;
            int first = code << (FAST - length), span = 1 << (FAST - length);
            for (int j = 0; j < span; j++) table->fast[first + j] = (uint16_t)(length << 8 | symbol);
            int run = symbol >> 4, size = symbol & 15;
            if (ac && symbol == 0) {
                for (int j = 0; j < span; j++) table->fast_ac[first + j] = END_OF_BLOCK | length;
                continue;
            }
            if (!ac || size == 0 || length + size > FAST) continue;
            for (int j = 0; j < span; j++) {
                int peek = first + j;
                int bits = (peek >> (FAST - length - size)) & ((1 << size) - 1);
                table->fast_ac[peek] = (int32_t)((uint32_t)EXTEND(bits, size) << 16) | run << 8 | (length + size);
            }
        }
        code <<= 1;
    }
    table->maxcode[17] = INT_MAX;
    memcpy(table->source, key, sizeof key);
    return 1;
}

/// Reads entropy-coded bits, most significant first, with 0xFF 0x00 unstuffed. At a marker (or the
/// end) it feeds zero bytes and counts them, so that reading past the scan's data shows.
typedef struct {
    const uint8_t *p, *end;
    uint64_t buffer;
    int bits;
    int padding;
} bit_reader;

static inline __attribute__((always_inline)) void refill(bit_reader *r) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__  // the first k bytes are then the low ones of the word
    if (r->end - r->p >= 8 && !r->padding) {
        uint64_t x;
        memcpy(&x, r->p, 8);
        int k = (64 - r->bits) >> 3;  // the whole bytes that fit
        uint64_t inverse = ~x, mask = k == 8 ? ~0ULL : (1ULL << (8 * k)) - 1;
        // No 0xFF among those bytes (a zero byte of ~x; no false negatives): take them at once.
        if (!((inverse - 0x0101010101010101ULL) & ~inverse & 0x8080808080808080ULL & mask)) {
            r->buffer |= (__builtin_bswap64(x) >> (64 - 8 * k)) << (64 - 8 * k - r->bits);
            r->bits += 8 * k;
            r->p += k;
            return;
        }
    }
#endif
    while (r->bits <= 56) {
        unsigned byte = 0;
        if (!r->padding && r->p < r->end) {
            byte = *r->p;
            if (byte != 0xFF) r->p++;
            else if (r->p + 1 < r->end && r->p[1] == 0) r->p += 2;
            else byte = 0, r->padding = 1;  // a marker: the scan's data ends here
        } else {
            r->padding++;
        }
        r->buffer |= (uint64_t)byte << (56 - r->bits);
        r->bits += 8;
    }
}

/// A code longer than the lookahead (or none): its symbol, or -1.
static inline int slow_symbol(const bit_reader *r, const huffman_table *table, int *length) {
    for (int l = FAST + 1; l <= 16; l++) {
        int32_t code = (int32_t)(r->buffer >> (64 - l));
        if (code <= table->maxcode[l]) {
            *length = l;
            return table->symbols[(table->offset[l] + code) & 0xFF];
        }
    }
    return -1;
}

#define CONSUME(r, n) ((r)->buffer <<= (n), (r)->bits -= (n))

static inline __attribute__((always_inline)) int decode_block(bit_reader *r, const huffman_table *dc, const huffman_table *ac,
                                                              int *predictor, JCOEF *block) {
    memset(block, 0, DCTSIZE2 * sizeof(JCOEF));
    // A code is at most 16 bits and its value 15: 31 bits are enough for one coefficient.
    if (r->bits < 32) refill(r);
    int entry = dc->fast[r->buffer >> (64 - FAST)], length, size;
    if (entry) length = entry >> 8, size = entry & 0xFF;
    else if ((size = slow_symbol(r, dc, &length)) < 0) return 0;
    CONSUME(r, length);
    if (size) {
        if (size > 11) return 0;
        int bits = (int)(r->buffer >> (64 - size));
        CONSUME(r, size);
        *predictor += EXTEND(bits, size);
    }
    block[0] = (JCOEF)*predictor;
    for (int k = 1; k < 64;) {
        if (r->bits < 32) refill(r);
        unsigned peek = (unsigned)(r->buffer >> (64 - FAST));
        int32_t both = ac->fast_ac[peek];
        if (__builtin_expect(both != 0, 1)) {
            CONSUME(r, both & 0xFF);
            if (both & END_OF_BLOCK) break;
            k += (both >> 8) & 0x3F;
            block[natural[k++]] = (JCOEF)(both >> 16);
            continue;
        }
        entry = ac->fast[peek];
        int symbol;
        if (entry) length = entry >> 8, symbol = entry & 0xFF;
        else if ((symbol = slow_symbol(r, ac, &length)) < 0) return 0;
        CONSUME(r, length);
        int run = symbol >> 4;
        size = symbol & 15;
        if (size) {
            k += run;
            int bits = (int)(r->buffer >> (64 - size));
            CONSUME(r, size);
            block[natural[k++]] = (JCOEF)EXTEND(bits, size);
        } else if (run == 15) {
            k += 16;
        } else {
            break;  // end of block
        }
    }
    return 1;
}

/// At the end of a restart interval: what is left of it is at most a byte's fill bits, none of the zero
/// bits fed past the marker were read (libjpeg leaves the rest of an interval that ends early as zero
/// blocks instead), and the next bytes are restart marker `number` (the reader stops at markers, so it
/// has not read past it). Starts reading after it, as at the scan's start.
static int restart(bit_reader *r, int number) {
    int left = r->bits - 8 * r->padding;  // bits of the interval's own data not read
    if (left < 0 || left >= 8 || r->end - r->p < 2 || r->p[0] != 0xFF || r->p[1] != JPEG_RST0 + number) return 0;
    r->p += 2;
    r->buffer = 0;
    r->bits = 0;
    r->padding = 0;
    return 1;
}

/// Whether the next marker after what the reader has read is the end of the image, as in an intact tile.
/// libjpeg, after the scan, skips extraneous bytes (with a warning) to the next marker and acts on it: an
/// unknown one is an error, others (restart markers, tables, comments, another scan) it reads on. Our
/// result stands for the end of the image alone; libjpeg reads the rest.
static int ends_at_image_end(const bit_reader *r) {
    for (const uint8_t *p = r->p; p + 1 < r->end; p++)
        if (p[0] == 0xFF && p[1] != 0x00 && p[1] != 0xFF) return p[1] == JPEG_EOI;
    return 0;
}

KERNEL int huffman_decode_scan(const unsigned char *data, size_t size, huffman_component *components, int count, int mcus_across,
                               int mcus_down, int restart_interval) {
    bit_reader r = {data, data + size, 0, 0, 0};
    int predictors[MAX_COMPS_IN_SCAN] = {0};
    int left = restart_interval, marker = 0;  // MCUs left in this interval; the next marker's number
    if (count < 1 || count > MAX_COMPS_IN_SCAN || restart_interval < 0) return 0;
    for (int my = 0; my < mcus_down; my++) {
        for (int mx = 0; mx < mcus_across; mx++) {
            if (restart_interval) {
                if (left == 0) {
                    if (!restart(&r, marker)) return 0;
                    marker = (marker + 1) & 7;
                    memset(predictors, 0, sizeof predictors);
                    left = restart_interval;
                }
                left--;
            }
            for (int c = 0; c < count; c++) {
                const huffman_component *component = &components[c];
                for (int by = 0; by < component->v; by++) {
                    JBLOCKROW row = component->rows[my * component->v + by] + mx * component->h;
                    for (int bx = 0; bx < component->h; bx++)
                        if (!decode_block(&r, component->dc, component->ac, &predictors[c], row[bx])) return 0;
                }
            }
        }
        // Zero bytes past a marker were read as data: the scan is cut short.
        if (r.padding && r.bits < 8 * r.padding) return 0;
    }
    return ends_at_image_end(&r);
}
