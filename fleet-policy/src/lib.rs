//! fleet-policy: compliance as runtime policy.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod artifact;
