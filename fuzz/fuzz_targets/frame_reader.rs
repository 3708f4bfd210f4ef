#![no_main]
// The checks live in clawsock::fuzzing::frame_reader (replayed by `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawsock::fuzzing::frame_reader(data));
