//! The worklet's network swap never touches the heap inside `process`: the network arrives as
//! bytes (built by a worker), is read in by the message handler, swapped in by `process` at a
//! block boundary, and the one it replaced is freed by the next message handler. Native only
//! (the counting allocator); the same code runs in the worklet.
#![cfg(not(target_arch = "wasm32"))]

use tidepool_alloc_count::{allocations_during, CountingAlloc};
use tidepool_engine::{build_network_bytes, network_radius, Which};
use tidepool_wasm::{WasmEngine, BLOCK_FRAMES};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn a_1000_neuron_network_swaps_in_without_allocating_or_freeing_in_process() {
    let mut engine = WasmEngine::new(48000.0, "tp1&arp.n=100");
    assert!(engine.note_on(0.0, 60, 100) && engine.note_on(0.0, 64, 100));
    for _ in 0..200 {
        engine.process(BLOCK_FRAMES);
        engine.drain_notes();
    }
    let (n, c, seed) = (1000, 1.0, 3);
    // As the network worker builds it (`network_bytes` of the tools module).
    let bytes = build_network_bytes(Which::Arp, (n, c, seed), network_radius(n, c, seed));
    assert!(bytes.len() > 4_000_000, "N·N weights: {}", bytes.len());
    assert!(engine.set_param(engine.frame(), "arp.n", 1000.0));
    assert!(engine.set_param(engine.frame(), "arp.conn", 1.0));
    assert!(engine.set_param(engine.frame(), "arp.seed", 3.0));
    engine.stage_network(&bytes).unwrap();
    let mut swapped = false;
    for _ in 0..200 {
        let heap = allocations_during(|| {
            engine.process(BLOCK_FRAMES);
            engine.drain_notes();
        });
        assert_eq!(heap, 0, "process touched the heap");
        swapped |= !engine.rebuild_pending();
    }
    assert!(swapped, "the network was swapped in");
    engine.drop_retired();
}
