//! Fuzz target: see `ontap_sim::fuzzing::rest_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ontap_sim::fuzzing::rest_request(data));
