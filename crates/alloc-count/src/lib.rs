//! Test support: a global allocator that counts the allocations (and frees and reallocations)
//! this thread makes while counting is on, so a test can prove that a code path — the engine's
//! `process`, a model's step — never touches the heap. One copy for every crate's tests.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: tidepool_alloc_count::CountingAlloc = tidepool_alloc_count::CountingAlloc;
//! assert_eq!(tidepool_alloc_count::allocations_during(|| engine.process(&mut l, &mut r)), 0);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting while [`allocations_during`] runs its closure on this thread.
pub struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the locals may be gone; nothing is counted then.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count();
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

/// Heap operations this thread made while running `f`. Only meaningful in a test binary whose
/// `#[global_allocator]` is [`CountingAlloc`]; a test should also show the counter is live (a
/// closure that does allocate counts more than zero).
pub fn allocations_during(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(|a| a.get())
}
