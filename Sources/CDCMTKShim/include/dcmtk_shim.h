// A small C API over DCMTK (C++), so Swift never touches DCMTK's classes.
#ifndef DCMTK_SHIM_H
#define DCMTK_SHIM_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/// What DCMTK, with its full data dictionary, reads from one DICOM file.
typedef struct {
    char sopClassUID[65];
    char transferSyntaxUID[65];
    char photometricInterpretation[17];
    long numberOfFrames;
    long rows;
    long columns;
    long totalPixelMatrixColumns;
    long totalPixelMatrixRows;
    /// Pixel data fragments after the Basic Offset Table item; -1 for native (unencapsulated) pixel data.
    long fragments;
} dcmtk_summary;

/// Loads `path` with DCMTK and fills `summary`. Returns 0, or -1 with a message in `error`.
int dcmtk_inspect(const char *path, dcmtk_summary *summary, char *error, size_t errorSize);

/// Extracts frame `index` (0-based) of an encapsulated instance into `buffer`; returns its length,
/// or -1 with a message in `error` (also when `capacity` is too small).
long dcmtk_read_frame(const char *path, long index, unsigned char *buffer, size_t capacity, char *error, size_t errorSize);

/// Called after each file of `dcmtk_store`: its index, the C-STORE response status (0 for success,
/// 0xB000-0xBFFF warnings count as stored) and, when it failed locally, a message (else NULL).
typedef void (*dcmtk_store_callback)(void *context, long index, unsigned short status, const char *message);

/// C-ECHO to a peer. Returns 0, or -1 with a message in `error`.
int dcmtk_echo(const char *host, int port, const char *calledAE, const char *callingAE, int timeoutSeconds,
               char *error, size_t errorSize);

/// Sends files by C-STORE over one association (a C-ECHO first), proposing each file's own SOP class and
/// transfer syntax. Returns 0 when the association held (per-file outcomes go to `callback`), or -1 with a
/// message in `error` when it could not be opened or broke.
int dcmtk_store(const char *host, int port, const char *calledAE, const char *callingAE, int timeoutSeconds,
                const char *const *paths, long count, dcmtk_store_callback callback, void *context,
                char *error, size_t errorSize);

#ifdef __cplusplus
}
#endif
#endif
