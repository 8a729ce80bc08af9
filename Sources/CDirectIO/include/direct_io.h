#ifndef DIRECT_IO_H
#define DIRECT_IO_H

/// The alignment of offsets, lengths and buffers that writes bypassing the page cache take: 4096 covers
/// both 512-byte and 4K-sector devices.
#define DIRECT_IO_ALIGNMENT 4096

/// Turns O_DIRECT (writes that bypass the page cache) on or off for an open file; O_DIRECT is not in
/// Swift's Glibc module. Returns 0, or -1 with errno set (also where the system has no O_DIRECT).
int direct_io_set(int fd, int on);

#endif
