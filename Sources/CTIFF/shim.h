// libtiff for Swift: TIFFGetField/TIFFSetField are variadic and not imported, so each typed use
// gets a small inline helper; errors go to a per-handle buffer instead of stderr.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

typedef struct { char message[512]; } ctiff_errors;

static int ctiff_error_handler(TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    ctiff_errors *errors = (ctiff_errors *)user_data;
    if (errors) {
        char text[400];
        vsnprintf(text, sizeof text, fmt, ap);
        snprintf(errors->message, sizeof errors->message, "%s%s%s", module ? module : "", module ? ": " : "", text);
    }
    return 1;
}

static int ctiff_warning_handler(TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap) {
    (void)tif; (void)user_data; (void)module; (void)fmt; (void)ap;
    return 1;
}

/// Opens a TIFF whose errors land in `errors` (which must outlive the handle) and whose warnings are dropped.
static inline TIFF *ctiff_open(const char *path, const char *mode, ctiff_errors *errors) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, ctiff_error_handler, errors);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ctiff_warning_handler, NULL);
    TIFF *tif = TIFFOpenExt(path, mode, options);
    TIFFOpenOptionsFree(options);
    return tif;
}

static inline int ctiff_get_u16(TIFF *t, uint32_t tag, uint16_t *v) { return TIFFGetField(t, tag, v); }
static inline int ctiff_get_u16_defaulted(TIFF *t, uint32_t tag, uint16_t *v) { return TIFFGetFieldDefaulted(t, tag, v); }
static inline int ctiff_get_u32(TIFF *t, uint32_t tag, uint32_t *v) { return TIFFGetField(t, tag, v); }
static inline int ctiff_get_float(TIFF *t, uint32_t tag, float *v) { return TIFFGetField(t, tag, v); }
static inline int ctiff_get_string(TIFF *t, uint32_t tag, const char **v) { return TIFFGetField(t, tag, v); }
/// For JPEGTABLES and ICCPROFILE: a count and a pointer owned by the handle.
static inline int ctiff_get_blob(TIFF *t, uint32_t tag, uint32_t *count, const void **data) {
    return TIFFGetField(t, tag, count, data);
}
static inline int ctiff_get_subsampling(TIFF *t, uint16_t *h, uint16_t *v) {
    return TIFFGetFieldDefaulted(t, TIFFTAG_YCBCRSUBSAMPLING, h, v);
}
static inline int ctiff_get_subifds(TIFF *t, uint16_t *count, uint64_t **offsets) {
    return TIFFGetField(t, TIFFTAG_SUBIFD, count, offsets);
}

static inline int ctiff_set_u16(TIFF *t, uint32_t tag, uint16_t v) { return TIFFSetField(t, tag, v); }
static inline int ctiff_set_u32(TIFF *t, uint32_t tag, uint32_t v) { return TIFFSetField(t, tag, v); }
static inline int ctiff_set_int(TIFF *t, uint32_t tag, int v) { return TIFFSetField(t, tag, v); }
static inline int ctiff_set_float(TIFF *t, uint32_t tag, float v) { return TIFFSetField(t, tag, v); }
static inline int ctiff_set_string(TIFF *t, uint32_t tag, const char *v) { return TIFFSetField(t, tag, v); }
static inline int ctiff_set_blob(TIFF *t, uint32_t tag, uint32_t count, const void *data) {
    return TIFFSetField(t, tag, count, data);
}
static inline int ctiff_set_subsampling(TIFF *t, uint16_t h, uint16_t v) {
    return TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, h, v);
}
