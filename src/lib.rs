//! The quorate binary library.
