//! Fuzz target: see `ontap_sim::fuzzing::rpc_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ontap_sim::fuzzing::rpc_stream(data));
