//! Fuzz target: see `ontap_sim::fuzzing::rest_query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ontap_sim::fuzzing::rest_query(data));
