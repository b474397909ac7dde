//! Werkzeug-compatible password hashes. The constants below were produced by Werkzeug 3.1.8
//! (`python3 -c 'from werkzeug.security import generate_password_hash as g; print(g("secret"))'`
//! and the methods named beside each); the tests never call Python.
#![cfg(feature = "security")]

use zeug::security::{
    check_password_hash, generate_password_hash, generate_password_hash_with_salt_length,
    PasswordHashError,
};

/// `g("secret")`: Werkzeug's default method.
const WERKZEUG_DEFAULT_SCRYPT: &str = "scrypt:32768:8:1$PcbxU9mrWKYCVMkI$23c4dd42bfd32d761a934c26403556d84090abcc486f16ba9f5bc1fb0b3e5b35729df9d8850e9f14b99c85abbcc94c18f2c474431ffd671ae6c4e7ba72113c0b";
/// `g("secret", "pbkdf2")`: Werkzeug 3.1's default iterations.
const WERKZEUG_DEFAULT_PBKDF2: &str = "pbkdf2:sha256:1000000$FUptxuexsYLZhzL9$7a8d8b00e74d3ccfd5a539ab939cde7c424de28d723143e225487d30e6234dd1";
/// `g("päßwörd", "pbkdf2:sha256:1000")`.
const WERKZEUG_PBKDF2_UNICODE: &str = "pbkdf2:sha256:1000$vGrwOpXVxmZTKnvx$5bbd4c37d4006674240b0ee40e8995437df0fb0aa33ffa9f952ea67ea9ac390f";
/// `g("hunter2", "scrypt:16384:8:1")`.
const WERKZEUG_SCRYPT_16384: &str = "scrypt:16384:8:1$OvhxOnSrgDWuejvb$f32449412397aceddcf5a14a0048ba85f3d5f484f047208290e50a1af138e76ed2c4a5a2ce9482595237c3c5e70767f217a8c9e65936a1d801d00177961e3379";
/// `g("", "pbkdf2:sha512:2000")`.
const WERKZEUG_PBKDF2_SHA512_EMPTY: &str = "pbkdf2:sha512:2000$LbDTT5cGsaItLKQ5$8bd0918e2d295d0d29966ac04856e0f03857c115dc345b70b71dd7439ac3bb940ff6076e76f53fd3dd654470639416356086e876ad790338d772db7caf1d3a83";

#[test]
fn checks_werkzeug_scrypt_hashes() {
    assert!(check_password_hash(WERKZEUG_DEFAULT_SCRYPT, "secret"));
    assert!(!check_password_hash(WERKZEUG_DEFAULT_SCRYPT, "Secret"));
    assert!(check_password_hash(WERKZEUG_SCRYPT_16384, "hunter2"));
    assert!(!check_password_hash(WERKZEUG_SCRYPT_16384, "hunter3"));
}

#[test]
fn checks_werkzeug_pbkdf2_hashes() {
    assert!(check_password_hash(WERKZEUG_DEFAULT_PBKDF2, "secret"));
    assert!(check_password_hash(WERKZEUG_PBKDF2_UNICODE, "päßwörd"));
    assert!(!check_password_hash(WERKZEUG_PBKDF2_UNICODE, "passwort"));
    assert!(check_password_hash(WERKZEUG_PBKDF2_SHA512_EMPTY, ""));
    assert!(!check_password_hash(WERKZEUG_PBKDF2_SHA512_EMPTY, " "));
}

#[test]
fn a_changed_salt_or_hash_fails() {
    let tampered_salt = WERKZEUG_PBKDF2_UNICODE.replace("vGrwOpXVxmZTKnvx", "vGrwOpXVxmZTKnvy");
    assert!(!check_password_hash(&tampered_salt, "päßwörd"));
    let truncated = &WERKZEUG_PBKDF2_UNICODE[..WERKZEUG_PBKDF2_UNICODE.len() - 1];
    assert!(!check_password_hash(truncated, "päßwörd"));
    let upper = WERKZEUG_PBKDF2_UNICODE.to_uppercase();
    assert!(!check_password_hash(&upper, "päßwörd"));
    for junk in [
        "",
        "$",
        "$$",
        "pbkdf2",
        "pbkdf2:sha256:1000$salt",
        "plain$text$x",
    ] {
        assert!(!check_password_hash(junk, "päßwörd"), "{junk:?}");
    }
}

#[test]
fn generates_in_werkzeugs_format_with_its_defaults() {
    let h = generate_password_hash("secret", "scrypt").unwrap();
    let parts: Vec<&str> = h.split('$').collect();
    assert_eq!(parts[0], "scrypt:32768:8:1");
    assert_eq!(parts[1].len(), 16);
    assert!(parts[1].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(parts[2].len(), 128);
    assert!(check_password_hash(&h, "secret"));
    // "" means the default method.
    assert!(generate_password_hash("x", "")
        .unwrap()
        .starts_with("scrypt:32768:8:1$"));

    let p = generate_password_hash("secret", "pbkdf2:sha256:2000").unwrap();
    assert!(p.starts_with("pbkdf2:sha256:2000$"));
    assert_eq!(p.split('$').nth(2).unwrap().len(), 64);
    assert!(check_password_hash(&p, "secret"));
    let p = generate_password_hash("secret", "pbkdf2:sha512:100").unwrap();
    assert!(p.starts_with("pbkdf2:sha512:100$"));
    assert_eq!(p.split('$').nth(2).unwrap().len(), 128);
    // Two hashes of one password differ (fresh salts) and both check.
    let a = generate_password_hash("same", "pbkdf2:sha256:10").unwrap();
    let b = generate_password_hash("same", "pbkdf2:sha256:10").unwrap();
    assert_ne!(a, b);
    assert!(check_password_hash(&a, "same") && check_password_hash(&b, "same"));
}

#[test]
fn bad_methods_are_errors() {
    assert!(matches!(
        generate_password_hash("x", "md5"),
        Err(PasswordHashError::UnknownMethod(_))
    ));
    assert!(matches!(
        generate_password_hash("x", "scrypt:1000:8:1"),
        Err(PasswordHashError::InvalidParameters(_))
    ));
    assert!(generate_password_hash_with_salt_length("x", "pbkdf2:sha256:1", 0).is_err());
    assert!(!generate_password_hash("x", "md5")
        .unwrap_err()
        .to_string()
        .is_empty());
}
