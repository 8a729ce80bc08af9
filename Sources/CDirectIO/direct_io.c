#define _GNU_SOURCE
#include "direct_io.h"
#include <errno.h>
#include <fcntl.h>

int direct_io_set(int fd, int on) {
#ifdef O_DIRECT
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT);
#else
    (void)fd;
    (void)on;
    errno = ENOTSUP;
    return -1;
#endif
}
