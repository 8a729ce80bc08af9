// Entropy decoding of baseline JPEG scans into coefficient blocks (see huffman_decode.c). Internal to
// CJPEGTranscode.
#ifndef HUFFMAN_DECODE_H
#define HUFFMAN_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jpeglib.h>

/// Bits looked up at once: codes this long or shorter are decoded by one table read.
#define HUFFMAN_FAST_BITS 10

/// One Huffman table, derived for decoding.
typedef struct huffman_table {
    /// The table it was derived from (bits[1..16], then the symbols), to tell whether the next stream's
    /// table is the same one (SVS tiles all share theirs).
    uint8_t source[17 + 256];
    /// For each HUFFMAN_FAST_BITS-bit lookahead whose code is that short: (code length << 8) | symbol;
    /// 0 when the code is longer.
    uint16_t fast[1 << HUFFMAN_FAST_BITS];
    /// For AC tables, when code and value bits both fit in the lookahead: (value << 16) | (run << 8) |
    /// (bits used); 0 otherwise.
    int32_t fast_ac[1 << HUFFMAN_FAST_BITS];
    /// Canonical decoding of longer codes: the largest code of each length (-1 when none) and where
    /// that length's symbols start in `symbols`, less its first code.
    int32_t maxcode[18];
    int32_t offset[17];
    uint8_t symbols[256];
} huffman_table;

/// Derives `table` from libjpeg's `source` unless it is already derived from an equal one. 0 when the
/// table is not a valid Huffman code.
int huffman_table_prepare(huffman_table *table, const JHUFF_TBL *source, int ac);

/// One component of an interleaved scan.
typedef struct huffman_component {
    int h, v;
    const huffman_table *dc, *ac;
    /// Rows of blocks, MCU-aligned (mcus_down * v of them, each mcus_across * h blocks).
    JBLOCKROW *rows;
} huffman_component;

/// Decodes the interleaved baseline scan whose entropy-coded data starts at `data` (`size` bytes: to
/// the end of the stream) into each component's blocks; `restart_interval` MCUs between restart markers
/// (0: none). 1 on success; 0 when the data is corrupt or ends early (or a restart marker is missing or out
/// of order), or when what follows it is not the end of the image, so that the caller can let libjpeg (with
/// its tolerance of damaged streams, and its errors) decode it instead.
int huffman_decode_scan(const unsigned char *data, size_t size, huffman_component *components, int count, int mcus_across,
                        int mcus_down, int restart_interval);

#endif
