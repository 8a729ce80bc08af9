// libjpeg (the classic API of libjpeg-turbo) for Swift, for what TurboJPEG 2.1 cannot do: JPEG streams
// with restart markers, which Hamamatsu VMS and NDPI files need. libjpeg reports errors by longjmp, which
// Swift cannot catch, so the whole compression runs inside one inline helper that catches them.
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
} cjpeg_error;

static void cjpeg_error_exit(j_common_ptr info) {
    cjpeg_error *error = (cjpeg_error *)info->err;
    (*info->err->format_message)(info, error->message);
    longjmp(error->escape, 1);
}

/// Encodes packed RGB as a baseline YCbCr JPEG, chroma `subsampling` 444, 422 or 420, with a restart
/// marker every `restart_mcus` MCUs. On success returns 0 and a malloc'ed stream in `*out` (free it with free());
/// on failure returns -1 with the reason in `message`.
static inline int cjpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality, int subsampling,
                                   int restart_mcus, unsigned char **out, unsigned long *out_size,
                                   char *message, size_t message_size) {
    struct jpeg_compress_struct info;
    cjpeg_error error;
    unsigned char *volatile buffer = NULL;
    unsigned long size = 0;
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = cjpeg_error_exit;
    if (setjmp(error.escape)) {
        snprintf(message, message_size, "%s", error.message);
        jpeg_destroy_compress(&info);
        free(buffer);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, (unsigned char **)&buffer, &size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    info.comp_info[0].h_samp_factor = subsampling == 444 ? 1 : 2;
    info.comp_info[0].v_samp_factor = subsampling == 420 ? 2 : 1;
    info.restart_interval = (unsigned int)restart_mcus;
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)info.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = buffer;
    *out_size = size;
    return 0;
}
