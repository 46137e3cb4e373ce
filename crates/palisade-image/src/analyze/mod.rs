//! The analyzers fed by the layer walker.
