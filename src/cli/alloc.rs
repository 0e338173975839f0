//! Process-wide allocator settings.

/// Asks glibc's malloc to keep freed memory for reuse.
///
/// By default glibc serves blocks above a dynamic threshold with fresh
/// `mmap`s and returns freed memory to the kernel, so a training loop that
/// allocates and frees the same activation buffers every step faults in
/// new zeroed pages every step: measured on `scone encode` of a 768×512
/// image, a third of the wall time went to the kernel. Raising the mmap
/// threshold to its maximum (32 MiB on 64-bit) and the trim threshold keeps
/// those pages mapped. Call it once, early, from a binary; libraries should
/// not change process-wide settings behind their host's back. A no-op
/// outside glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc tunables; it is called before any
    // other thread of ours exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
