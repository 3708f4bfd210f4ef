#![no_main]
// The checks live in clawsock::fuzzing::upgrade_response (replayed by `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawsock::fuzzing::upgrade_response(data));
