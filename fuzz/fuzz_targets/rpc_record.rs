//! Fuzz target: see `ontap_sim::fuzzing::rpc_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ontap_sim::fuzzing::rpc_record(data));
