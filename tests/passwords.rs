//! Werkzeug-compatible password hashes. The constants below were produced by Werkzeug 3.1.8
//! (`python3 -c 'from werkzeug.security import generate_password_hash as g; print(g("secret"))'`
//! and the methods named beside each); the tests never call Python.
#![cfg(feature = "security")]

use std::time::{Duration, Instant};

use zeug::security::{
    MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY, PasswordHashError, check_password_hash,
    generate_password_hash, generate_password_hash_with_salt_length,
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
/// `g("secret", "pbkdf2:sha1:1000")`: the format of Werkzeug < 0.15's default.
const WERKZEUG_PBKDF2_SHA1_1000: &str =
    "pbkdf2:sha1:1000$cNKJhRkpiQh6jBht$2289a5e8e4310332e2eeba86d72904a7211dd387";
/// `g("open sesame", "pbkdf2:sha1:5000")`.
const WERKZEUG_PBKDF2_SHA1_5000: &str =
    "pbkdf2:sha1:5000$WGNoJSfHkuNy8cqo$7d1a803bc7011f88a23793a9cd6c35d8040a6d42";
/// `g("secret", "pbkdf2:sha512:10000")`.
const WERKZEUG_PBKDF2_SHA512_10000: &str = "pbkdf2:sha512:10000$1CwzvKl6FjazcqcL$418a5b36be423907bd2529b9e31425e826bb60245dc7cf6e16214cc80fa6db0f8fe384f749090a72c40e373b2051ee7d9feaecd560a6dcd424f8966259a610f7";
/// `g("x", "pbkdf2:sha224:1000")`.
const WERKZEUG_PBKDF2_SHA224: &str =
    "pbkdf2:sha224:1000$lB8nDwaQ1LIHqK98$d98066ce41ba3e5229b908bb3df7e9824047a1b788bb56fee0c08a80";
/// `g("x", "pbkdf2:sha384:1000")`.
const WERKZEUG_PBKDF2_SHA384: &str = "pbkdf2:sha384:1000$Lu7xIX30s4krkLwc$fb63df3e9d653bb91a11f42df3c9429e06a358ca0d0f7937248e17c170dd8f2c4c1bd8da0ad7c06ae52539d758068286";
/// `g("hunter2", "scrypt:131072:8:1")`: 128 MiB, the largest N with r = 8 under the cap.
const WERKZEUG_SCRYPT_131072: &str = "scrypt:131072:8:1$F4CRW0qYiir62Enn$27e0f2c26f0b894f139794c38cd55646a5e239d4fb747f53d2fbb6dab88ad2828ea768035f20dd688c11dae2ea8864c838857e7aacfaf3e06c3e9728347f9771";

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
    assert!(
        generate_password_hash("x", "")
            .unwrap()
            .starts_with("scrypt:32768:8:1$")
    );

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
    assert!(
        !generate_password_hash("x", "md5")
            .unwrap_err()
            .to_string()
            .is_empty()
    );
}

#[test]
fn checks_werkzeug_sha1_and_other_pbkdf2_digests() {
    assert!(check_password_hash(WERKZEUG_PBKDF2_SHA1_1000, "secret"));
    assert!(!check_password_hash(WERKZEUG_PBKDF2_SHA1_1000, "secreT"));
    assert!(check_password_hash(
        WERKZEUG_PBKDF2_SHA1_5000,
        "open sesame"
    ));
    assert!(!check_password_hash(
        WERKZEUG_PBKDF2_SHA1_5000,
        "open sesame "
    ));
    assert!(check_password_hash(WERKZEUG_PBKDF2_SHA512_10000, "secret"));
    assert!(!check_password_hash(WERKZEUG_PBKDF2_SHA512_10000, "Secret"));
    assert!(check_password_hash(WERKZEUG_PBKDF2_SHA224, "x"));
    assert!(check_password_hash(WERKZEUG_PBKDF2_SHA384, "x"));
    assert!(!check_password_hash(WERKZEUG_PBKDF2_SHA384, "y"));
}

#[test]
fn generates_pbkdf2_sha1_as_werkzeug_does() {
    let h = generate_password_hash("secret", "pbkdf2:sha1:1000").unwrap();
    let parts: Vec<&str> = h.split('$').collect();
    assert_eq!(parts[0], "pbkdf2:sha1:1000");
    assert_eq!(parts[2].len(), 40);
    assert!(check_password_hash(&h, "secret"));
    assert!(!check_password_hash(&h, "secrets"));
    // Checking uses the same code path, verified above against Werkzeug's sha1 hashes.
}

#[test]
fn scrypt_at_the_memory_cap_checks() {
    const { assert!(MAX_SCRYPT_MEMORY >= 128 * 131072 * 8) };
    assert!(check_password_hash(WERKZEUG_SCRYPT_131072, "hunter2"));
}

/// QA audit entry 3: a hash string from a database is data; hostile cost parameters must
/// neither abort the process (a failed 100 GB allocation) nor pin the CPU for minutes.
#[test]
fn hostile_cost_parameters_neither_abort_nor_hang() {
    let started = Instant::now();
    for method in [
        "scrypt:32768:8:99999999",
        "scrypt:32768:8:99999",
        "scrypt:1048576:8:1",
        "scrypt:2:4294967295:1",
        "pbkdf2:sha256:4000000000",
        "pbkdf2:sha1:4294967295",
        "pbkdf2:sha512:10000001",
    ] {
        assert!(
            matches!(
                generate_password_hash("secret", method),
                Err(PasswordHashError::InvalidParameters(_))
            ),
            "{method}"
        );
        assert!(
            !check_password_hash(&format!("{method}$c2FsdA$00"), "x"),
            "{method}"
        );
    }
    const { assert!(MAX_PBKDF2_ITERATIONS >= 1_000_000 * 10) };
    // Without the caps the first check alone allocates ~100 GB or runs for minutes.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn malformed_hashes_are_false_never_a_panic() {
    for h in [
        "scrypt:32768:8$s$00",
        "scrypt:32768:8:1:1$s$00",
        "scrypt:x:8:1$s$00",
        "scrypt:3:8:1$s$00",
        "scrypt:32768:0:1$s$00",
        "pbkdf2:sha256:0$s$00",
        "pbkdf2:sha256:1e6$s$00",
        "pbkdf2:md5:1000$s$00",
        "pbkdf2:sha1:1000:1$s$00",
        "pbkdf2:sha1:1000",
        "pbkdf2:sha1:1000$",
        "\u{0}$\u{0}$\u{0}",
        "€:€:€$€$€",
    ] {
        assert!(!check_password_hash(h, "secret"), "{h:?}");
    }
}
