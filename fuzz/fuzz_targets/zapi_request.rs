//! Fuzz target: see `ontap_sim::fuzzing::zapi_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ontap_sim::fuzzing::zapi_request(data));
