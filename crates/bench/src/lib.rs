//! Benchmarks live in `benches/`; this crate exists so that criterion is only compiled for them
//! (`cargo bench -p tidepool-bench`), never for `cargo test`.
