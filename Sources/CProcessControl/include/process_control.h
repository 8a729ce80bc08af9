#ifndef PROCESS_CONTROL_H
#define PROCESS_CONTROL_H

/// Asks the kernel to SIGKILL this process when the thread that started it ends (prctl's variadic
/// signature keeps it from Swift). Returns 0, or -1 with errno set.
int process_control_die_with_parent(void);

/// Sets glibc's allocator to keep freed memory (blocks under `mmap_threshold` bytes come from the heap,
/// which keeps up to `trim_threshold` bytes free before giving any back). mallopt is not in Swift's Glibc
/// module. Returns 1 on success, 0 where the allocator takes no such setting.
int process_control_keep_freed_memory(int mmap_threshold, int trim_threshold);

#endif
