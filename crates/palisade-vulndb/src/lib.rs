//! The vulnerability database.
