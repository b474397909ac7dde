//! Signed-cookie sessions (in progress).
