#ifndef JPEG_HEADER_H
#define JPEG_HEADER_H

#include <stddef.h>

/// Whether the JPEG stream `data` defines, before its first scan, every quantization and Huffman table
/// that scan and its frame use, and is a single sequential scan of all its components (so no later scan
/// needs tables of its own). libjpeg (and TurboJPEG) keep a decompressor's tables from one stream to the
/// next, for abbreviated streams: a stream for which this is 0 (one that leaves a table out, a
/// progressive or multi-scan one, or one whose header cannot be walked) must be read by a fresh
/// decompressor, or it is read with whatever tables the previous stream left, and what comes out depends
/// on which tiles went before.
int jpeg_defines_own_tables(const unsigned char *data, size_t size);

#endif
