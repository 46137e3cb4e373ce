//! The streaming layer walker.
