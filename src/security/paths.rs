//! `safe_join` and `secure_filename` (in progress).
