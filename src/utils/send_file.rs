//! Sending files: `send_file`, `send_from_directory` (in progress).
