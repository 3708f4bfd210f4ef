#![no_main]
// The checks live in clawsock::fuzzing::token_store (replayed by `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawsock::fuzzing::token_store(data));
