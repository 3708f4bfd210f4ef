#![no_main]
// The checks live in clawsock::fuzzing::close_frame (replayed by `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawsock::fuzzing::close_frame(data));
