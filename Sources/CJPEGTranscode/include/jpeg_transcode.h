#ifndef JPEG_TRANSCODE_H
#define JPEG_TRANSCODE_H

#include <stddef.h>

/// Re-encodes baseline JPEG tiles at a new quality and chroma subsampling in the DCT domain: the source's
/// coefficients are entropy-decoded (by our decoder, huffman_decode.c, for intact single-scan baseline
/// streams; by libjpeg's jpeg_read_coefficients otherwise), converted to YCbCr and
/// requantized without going back to pixels, and entropy-coded again (libjpeg's jpeg_write_coefficients). Only the chroma of a
/// subsampled output goes through pixels, at half size, which is also the tile at the next pyramid level:
/// from each block's low 4 x 4 coefficients (within a grey level or so of TurboJPEG's half-scale decoding,
/// which is the exact 2 x 2 mean). Not thread-safe: one per thread.
typedef struct jpeg_transcoder jpeg_transcoder;

/// The outcome of jpeg_transcoder_run.
enum {
    JPEG_TRANSCODE_OK = 0,
    /// A stream this transcoder does not handle (sampling, size, precision, colour space): nothing was
    /// written; re-encode through pixels instead.
    JPEG_TRANSCODE_UNSUPPORTED = 1,
    /// A stream libjpeg cannot read; the reason is in jpeg_transcoder_message.
    JPEG_TRANSCODE_ERROR = -1,
};

/// A transcoder to baseline JPEG of `quality` (1-100) and chroma subsampling `subsampling` (444 or 420;
/// others are unsupported). NULL when out of memory.
jpeg_transcoder *jpeg_transcoder_create(int quality, int subsampling);
void jpeg_transcoder_destroy(jpeg_transcoder *transcoder);

/// Transcodes the complete stream `source`. On JPEG_TRANSCODE_OK the new stream is at `*output`
/// (`*output_size` bytes, owned by the transcoder, valid until its next run). When `half` is not NULL,
/// the top-left `half_width` x `half_height` pixels of the stream's pixels at half size (RGB, rows `half_pitch`
/// bytes apart; at most the stream's size halved) are written there.
int jpeg_transcoder_run(jpeg_transcoder *transcoder, const unsigned char *source, size_t source_size,
                        const unsigned char **output, size_t *output_size,
                        unsigned char *half, int half_pitch, int half_width, int half_height);

/// Decodes the complete stream `source` at half size only (the half-size pixels jpeg_transcoder_run
/// writes, from the same kinds of stream, of any quality and subsampling setting): a pyramid level from a
/// frame that is copied as it is (RGB-coded, YCbCr 4:4:4, 4:2:2 or 4:2:0).
/// JPEG_TRANSCODE_UNSUPPORTED, with nothing written, for other streams and for those our entropy decoder
/// leaves to libjpeg (progressive or damaged data): TurboJPEG's scaled decoding is faster for them.
int jpeg_transcoder_half(jpeg_transcoder *transcoder, const unsigned char *source, size_t source_size,
                         unsigned char *half, int half_pitch, int half_width, int half_height);

/// With `only` non-zero, every stream is entropy-decoded by libjpeg rather than by our decoder (which
/// otherwise takes the streams it can): the two give the same coefficients, which tests check.
void jpeg_transcoder_use_libjpeg_decoder(jpeg_transcoder *transcoder, int only);

/// Why the last run failed.
const char *jpeg_transcoder_message(const jpeg_transcoder *transcoder);

#endif
