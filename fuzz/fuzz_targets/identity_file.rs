#![no_main]
// The checks live in clawsock::fuzzing::identity_file (replayed by `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawsock::fuzzing::identity_file(data));
