//! ontap-sim: a NetApp ONTAP cluster simulator.
//!
//! `model` owns the cluster's state and invariants; `zapi` translates ONTAPI XML onto it and `rest`
//! the ONTAP REST API; `http` carries both over TLS; `tls` makes and loads certificates; `config`
//! reads the topology seed; `server` wires them together for `ontap-sim serve`.

pub mod admin;
pub mod backend_json;
pub mod calls;
pub mod cli;
pub mod config;
pub mod faults;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod http;
pub mod model;
pub mod nfs;
pub mod pattern;
pub mod quota_usage;
pub mod rest;
pub mod server;
pub mod sim;
pub mod store;
pub mod tls;
pub mod zapi;
