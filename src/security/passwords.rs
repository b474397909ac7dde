//! Password hashing compatible with Werkzeug's `generate_password_hash` and
//! `check_password_hash` (behind the `security` feature), so a user table written by a
//! Flask or Werkzeug app keeps working.
//!
//! The stored format is Werkzeug's `method$salt$hash`: `scrypt:32768:8:1$<salt>$<hex>` or
//! `pbkdf2:sha256:1000000$<salt>$<hex>` (also `pbkdf2:sha1`, `sha224`, `sha384`, `sha512`),
//! the salt being random letters and digits. Cost parameters are capped
//! ([`MAX_SCRYPT_MEMORY`], [`MAX_PBKDF2_ITERATIONS`]) so a hostile hash string cannot
//! exhaust memory or CPU. This file owns hashing and checking; it does not store users or
//! rate-limit logins.

use std::fmt;

use hmac::digest::{
    HashMarker,
    block_buffer::Eager,
    core_api::{BlockSizeUser, BufferKindUser, CoreProxy, FixedOutputCore, UpdateCore},
    typenum::{IsLess, Le, NonZero, U256},
};

/// The method [`generate_password_hash`] uses when given `""`: `scrypt` (Werkzeug's
/// default since 3.0), with N = 32768, r = 8, p = 1.
pub const DEFAULT_METHOD: &str = "scrypt";
/// Salt length in characters (Werkzeug's default).
pub const DEFAULT_SALT_LENGTH: usize = 16;
/// PBKDF2 iterations when the method does not say (Werkzeug 3.1's default; 3.0 used
/// 600 000, which such hashes record in their method and so still check).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 1_000_000;
/// scrypt's default cost parameters: N, r, p.
pub const DEFAULT_SCRYPT_PARAMS: (u64, u32, u32) = (32768, 8, 1);
/// The most memory a scrypt hash may ask for, counted as 128 · N · r · p bytes (132 MiB).
/// Werkzeug's default parameters need 32 MiB, so this leaves room for N = 2¹⁷ with r = 8.
/// A method or stored hash asking for more is an error for [`generate_password_hash`] and
/// `false` for [`check_password_hash`], rather than an allocation that aborts the process
/// or minutes of CPU (p multiplies the work, so it is counted too).
pub const MAX_SCRYPT_MEMORY: u64 = 132 * 1024 * 1024;
/// The most PBKDF2 iterations a method or stored hash may ask for: ten times Werkzeug
/// 3.1's default of 1 000 000 (older Werkzeug versions used fewer: 1 000, 150 000,
/// 260 000, 600 000). More is an error for [`generate_password_hash`] and `false` for
/// [`check_password_hash`], so a hostile hash string cannot pin a CPU for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

const SALT_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Why a password hash could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordHashError {
    /// The method is neither `scrypt[:N:r:p]` nor `pbkdf2[:hash[:iterations]]`.
    UnknownMethod(String),
    /// The method's parameters are out of range (N not a power of two, zero iterations, an
    /// unsupported digest, more than [`MAX_SCRYPT_MEMORY`] or [`MAX_PBKDF2_ITERATIONS`],
    /// ...), or the salt length is zero.
    InvalidParameters(String),
    /// The operating system's random number generator failed.
    Random,
}

impl fmt::Display for PasswordHashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordHashError::UnknownMethod(m) => write!(f, "unknown password hash method {m:?}"),
            PasswordHashError::InvalidParameters(m) => {
                write!(f, "invalid password hash parameters: {m}")
            }
            PasswordHashError::Random => f.write_str("the random number generator failed"),
        }
    }
}

impl std::error::Error for PasswordHashError {}

/// Hashes a password with a fresh 16-character salt, in Werkzeug's format. `method` is
/// `"scrypt"` (the default; also `""`), `"scrypt:N:r:p"`, `"pbkdf2"`, `"pbkdf2:sha256"` or
/// `"pbkdf2:sha256:600000"` (digests: `sha1`, `sha224`, `sha256`, `sha384`, `sha512`, as
/// Werkzeug accepts them). Parameters above [`MAX_SCRYPT_MEMORY`] or
/// [`MAX_PBKDF2_ITERATIONS`] are [`PasswordHashError::InvalidParameters`].
///
/// # Examples
///
/// ```
/// use zeug::security::{check_password_hash, generate_password_hash};
///
/// let hash = generate_password_hash("correct horse", "pbkdf2:sha256:1000").unwrap();
/// assert!(hash.starts_with("pbkdf2:sha256:1000$"));
/// assert!(check_password_hash(&hash, "correct horse"));
/// assert!(!check_password_hash(&hash, "battery staple"));
/// assert!(generate_password_hash("x", "md5").is_err());
/// ```
pub fn generate_password_hash(password: &str, method: &str) -> Result<String, PasswordHashError> {
    generate_password_hash_with_salt_length(password, method, DEFAULT_SALT_LENGTH)
}

/// [`generate_password_hash`] with a chosen salt length (at least 1).
///
/// # Examples
///
/// ```
/// let hash = zeug::security::generate_password_hash_with_salt_length("pw", "pbkdf2:sha256:10", 8).unwrap();
/// assert_eq!(hash.split('$').nth(1).unwrap().len(), 8);
/// ```
pub fn generate_password_hash_with_salt_length(
    password: &str,
    method: &str,
    salt_length: usize,
) -> Result<String, PasswordHashError> {
    if salt_length == 0 {
        return Err(PasswordHashError::InvalidParameters(
            "salt length must be at least 1".into(),
        ));
    }
    let salt = gen_salt(salt_length)?;
    let method = if method.is_empty() {
        DEFAULT_METHOD
    } else {
        method
    };
    let (hash, actual) = hash_internal(method, &salt, password)?;
    Ok(format!("{actual}${salt}${hash}"))
}

/// Checks a password against a hash made by [`generate_password_hash`] or by Werkzeug.
/// The comparison takes the same time wherever the hashes differ; a malformed hash, an
/// unknown method, or parameters above [`MAX_SCRYPT_MEMORY`] / [`MAX_PBKDF2_ITERATIONS`]
/// (a stored hash is data, and may be hostile) is simply `false`. Hashes from older
/// Werkzeug versions (`pbkdf2:sha1:1000$...`, `pbkdf2:sha256:150000$...`) check.
///
/// # Examples
///
/// ```
/// use zeug::security::check_password_hash;
///
/// // Made by Werkzeug 3.1: generate_password_hash("päßwörd", "pbkdf2:sha256:1000")
/// let stored = "pbkdf2:sha256:1000$vGrwOpXVxmZTKnvx$5bbd4c37d4006674240b0ee40e8995437df0fb0aa33ffa9f952ea67ea9ac390f";
/// assert!(check_password_hash(stored, "päßwörd"));
/// assert!(!check_password_hash(stored, "wrong"));
/// assert!(!check_password_hash("not a hash", "secret"));
/// ```
pub fn check_password_hash(pwhash: &str, password: &str) -> bool {
    let mut pieces = pwhash.splitn(3, '$');
    let (Some(method), Some(salt), Some(expected)) = (pieces.next(), pieces.next(), pieces.next())
    else {
        return false;
    };
    match hash_internal(method, salt, password) {
        Ok((actual, _)) => constant_time_eq(actual.as_bytes(), expected.as_bytes()),
        Err(_) => false,
    }
}

/// Computes the hex digest and the normalised method string, as Werkzeug's `_hash_internal`.
fn hash_internal(
    method: &str,
    salt: &str,
    password: &str,
) -> Result<(String, String), PasswordHashError> {
    let mut args = method.split(':');
    let name = args.next().unwrap_or_default();
    let args: Vec<&str> = args.collect();
    let invalid = |m: &str| PasswordHashError::InvalidParameters(m.to_owned());
    match name {
        "scrypt" => {
            let (n, r, p) = if args.is_empty() {
                DEFAULT_SCRYPT_PARAMS
            } else if args.len() == 3 {
                let n: u64 = args[0].parse().map_err(|_| invalid("scrypt N"))?;
                let r: u32 = args[1].parse().map_err(|_| invalid("scrypt r"))?;
                let p: u32 = args[2].parse().map_err(|_| invalid("scrypt p"))?;
                (n, r, p)
            } else {
                return Err(invalid("scrypt takes N, r and p"));
            };
            if n < 2 || !n.is_power_of_two() {
                return Err(invalid("scrypt N must be a power of two"));
            }
            if (r as u64)
                .checked_mul(n)
                .and_then(|x| x.checked_mul(p as u64))
                .and_then(|x| x.checked_mul(128))
                .is_none_or(|mem| mem > MAX_SCRYPT_MEMORY)
            {
                return Err(invalid("scrypt parameters ask for too much memory"));
            }
            let params = scrypt::Params::new(n.trailing_zeros() as u8, r, p, 64)
                .map_err(|_| invalid("scrypt parameters"))?;
            let mut out = [0u8; 64];
            scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out)
                .map_err(|_| invalid("scrypt output length"))?;
            Ok((hex(&out), format!("scrypt:{n}:{r}:{p}")))
        }
        "pbkdf2" => {
            let (digest, iterations) = match args.as_slice() {
                [] => ("sha256", DEFAULT_PBKDF2_ITERATIONS),
                [digest] => (*digest, DEFAULT_PBKDF2_ITERATIONS),
                [digest, iterations] => (
                    *digest,
                    iterations
                        .parse()
                        .map_err(|_| invalid("pbkdf2 iterations"))?,
                ),
                _ => return Err(invalid("pbkdf2 takes 2 arguments")),
            };
            if iterations == 0 {
                return Err(invalid("pbkdf2 iterations must be at least 1"));
            }
            if iterations > MAX_PBKDF2_ITERATIONS {
                return Err(invalid(&format!(
                    "pbkdf2 iterations above the limit of {MAX_PBKDF2_ITERATIONS}"
                )));
            }
            let (p, s) = (password.as_bytes(), salt.as_bytes());
            let hash = match digest {
                "sha1" => pbkdf2_hex::<sha1::Sha1>(p, s, iterations, 20),
                "sha224" => pbkdf2_hex::<sha2::Sha224>(p, s, iterations, 28),
                "sha256" => pbkdf2_hex::<sha2::Sha256>(p, s, iterations, 32),
                "sha384" => pbkdf2_hex::<sha2::Sha384>(p, s, iterations, 48),
                "sha512" => pbkdf2_hex::<sha2::Sha512>(p, s, iterations, 64),
                other => return Err(invalid(&format!("unsupported pbkdf2 digest {other:?}"))),
            };
            Ok((hash, format!("pbkdf2:{digest}:{iterations}")))
        }
        _ => Err(PasswordHashError::UnknownMethod(method.to_owned())),
    }
}

fn pbkdf2_hex<D>(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> String
where
    D: CoreProxy,
    D::Core: Sync
        + HashMarker
        + UpdateCore
        + FixedOutputCore
        + BufferKindUser<BufferKind = Eager>
        + Default
        + Clone,
    <D::Core as BlockSizeUser>::BlockSize: IsLess<U256>,
    Le<<D::Core as BlockSizeUser>::BlockSize, U256>: NonZero,
{
    let mut out = vec![0u8; len];
    pbkdf2::pbkdf2_hmac::<D>(password, salt, rounds, &mut out);
    hex(&out)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Random letters and digits, without modulo bias.
fn gen_salt(len: usize) -> Result<String, PasswordHashError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf).map_err(|_| PasswordHashError::Random)?;
        for &b in &buf {
            // 248 = 4 · 62: reject the top bytes so every character is equally likely.
            if b < 248 && out.len() < len {
                out.push(SALT_CHARS[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_alphanumeric_and_differ() {
        let a = gen_salt(16).unwrap();
        let b = gen_salt(16).unwrap();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn hostile_methods_fail_cleanly() {
        for m in [
            "scrypt:3:8:1",
            "scrypt:1073741824:8:1",
            "scrypt:16384:0:1",
            "scrypt:16384",
            "pbkdf2:sha256:0",
            "pbkdf2:md5:10",
            "pbkdf2:sha256:10:extra",
            "bcrypt",
            // Hostile cost parameters: no allocation, no CPU burn (QA audit entry 3).
            "scrypt:32768:8:99999999",
            "scrypt:32768:8:99999",
            "scrypt:262144:8:1",
            "scrypt:2:99999999:1",
            "scrypt:18446744073709551616:8:1",
            "scrypt:32768:8:1:1",
            "scrypt:32768:8:0",
            "pbkdf2:sha256:4000000000",
            "pbkdf2:sha1:10000001",
            "pbkdf2:sha256:99999999999999999999",
            "pbkdf2:sha256:-1",
        ] {
            assert!(hash_internal(m, "salt", "pw").is_err(), "{m}");
            assert!(!check_password_hash(&format!("{m}$salt$00"), "pw"));
        }
    }

    #[test]
    fn malformed_hash_strings_are_false() {
        for h in [
            "",
            "$",
            "$$",
            "$$$",
            "scrypt",
            "scrypt$",
            "scrypt$$",
            ":$:$:",
            "scrypt:::$s$00",
            "pbkdf2:$s$00",
            "pbkdf2::$s$00",
            "pbkdf2:sha256:$s$00",
            "pbkdf2:sha256: 1$s$00",
            "pbkdf2:sha256:1$$",
            "pbkdf2:sha256:1$\u{0}$\u{ff}",
            "scrypt:32768:8:1$s$zz",
            "scrypt:0:0:0$s$00",
            "scrypt:1:1:1$s$00",
            "scrypt:4:1:1$s$",
            "\u{10ffff}$\u{0}$",
        ] {
            assert!(!check_password_hash(h, "pw"), "{h:?}");
        }
    }
}
