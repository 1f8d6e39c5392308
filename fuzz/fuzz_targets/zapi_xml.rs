//! Fuzz target: see `ontap_sim::fuzzing::zapi_xml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ontap_sim::fuzzing::zapi_xml(data));
