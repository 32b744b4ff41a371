//! Loopback fakes of the vendors, written from their documents (test and development code only).
pub mod edge;
