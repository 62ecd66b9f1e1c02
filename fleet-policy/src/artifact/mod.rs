//! Offline verification of artifact signatures and provenance.
