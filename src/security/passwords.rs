//! Password hashing (in progress).
