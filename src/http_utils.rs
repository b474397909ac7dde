//! HTTP value parsing and formatting: dates, ETags, ranges, cache control (in progress).
