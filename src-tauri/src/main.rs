//! The desktop app's entry point; everything is in the library.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// The replica (sled) and sync allocate and free many small buffers per
/// record; mimalloc does that faster than glibc's malloc (`make bench-sync`:
/// a fresh device syncs about a quarter faster).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    stint_desktop::run();
}
