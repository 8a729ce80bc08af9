import CProcessControl

/// Keeps freed memory in the process between tiles instead of handing it back to the kernel each time.
///
/// A conversion allocates and frees the same buffers for every tile (libjpeg's coefficient arrays, a few
/// hundred KiB a tile; bands and frames); with glibc's defaults the top of the heap is given back once
/// 128 KiB are free and faulted in again for the next tile, which took a fifth of a re-encode's time in
/// the kernel. With these thresholds (the ones glibc's own dynamic adjustment reaches at most) blocks
/// under 32 MiB come from the heap and up to 64 MiB of free heap are kept. Peak memory barely moves:
/// what is kept was in use a moment before.
func tuneAllocatorForConversion() {
    _ = process_control_keep_freed_memory(32 << 20, 64 << 20)
}
