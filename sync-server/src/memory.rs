//! The allocator, tuned so that memory freed is memory given back.
//!
//! glibc's malloc keeps what is freed for reuse, per arena, and makes an
//! arena per thread that contends for one, up to eight per core. The
//! server's commits run on whichever thread tokio hands the blocking work
//! to, and the store's page cache frees and allocates 4 KiB pages all day
//! long, so each of those threads' arenas came to hold tens of megabytes
//! that nobody used: a 10-minute soak ended at 190 MB resident for a 64 MB
//! cache. Two arenas, large buffers straight from the system, and a trim
//! every minute bound that by what is live.

/// Called first thing in `main`, before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn tune() {
    // Every password hash takes 19 MiB. glibc raises its mmap threshold
    // after the first such buffer is freed and then keeps them on the heap,
    // so a few logins left the server holding tens of megabytes (hundreds
    // during a login burst). A fixed threshold of 1 MiB makes large buffers
    // come from and go back to the system directly.
    // SAFETY: `mallopt` only tunes the allocator, and no other thread
    // allocates yet.
    #[allow(unsafe_code)]
    let applied = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) + libc::mallopt(libc::M_ARENA_MAX, 2)
    };
    debug_assert_eq!(applied, 2, "mallopt refused a setting");
}

/// Gives the free pages inside the heap back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn trim() {
    // SAFETY: `malloc_trim` is thread-safe; it only releases free memory.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn tune() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn trim() {}
