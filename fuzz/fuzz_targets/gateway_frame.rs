#![no_main]
// The checks live in clawsock::fuzzing::gateway_frame (replayed by `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawsock::fuzzing::gateway_frame(data));
