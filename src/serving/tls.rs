//! TLS for the development server (the `tls` feature): the `rustls` configuration for an
//! [`SslContext`] (PEM files, or an ad-hoc self-signed certificate made at start-up) and a
//! stream that encrypts an accepted connection.
//!
//! This module owns certificates and the record layer, using `rustls` (ring provider) and
//! `rcgen`. It does not accept connections, parse HTTP or decide the URL scheme; the
//! connection code wraps each accepted stream in a [`TlsStream`] and serves it like a plain
//! socket, with `wsgi.url_scheme` set to `https`.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

use super::SslContext;

/// The names an ad-hoc certificate is valid for.
const ADHOC_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Builds the `rustls` configuration for `context`: reads the PEM files, or makes an
/// ad-hoc self-signed certificate. Errors say which file was wrong, so a typo fails at
/// start-up, not at the first request.
// hook for server core: call once in `make_server` when `ssl_context` is set.
pub(crate) fn server_config(context: &SslContext) -> io::Result<Arc<ServerConfig>> {
    match context {
        SslContext::Files { cert, key } => build_config(load_certs(cert)?, load_key(key)?),
        SslContext::Adhoc => {
            let (chain, key) = adhoc_certificate()?;
            build_config(chain, key)
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn open(path: &Path, what: &str) -> io::Result<BufReader<File>> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| io::Error::new(e.kind(), format!("TLS {what} {}: {e}", path.display())))
}

fn load_certs(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let mut reader = open(path, "certificate file")?;
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("TLS certificate file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "TLS certificate file {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> io::Result<PrivateKeyDer<'static>> {
    let mut reader = open(path, "key file")?;
    rustls_pemfile::private_key(&mut reader)
        .map_err(|e| invalid(format!("TLS key file {}: {e}", path.display())))?
        .ok_or_else(|| {
            invalid(format!(
                "TLS key file {} holds no PEM private key",
                path.display()
            ))
        })
}

/// A fresh self-signed certificate and its key, valid for [`ADHOC_NAMES`].
pub(crate) fn adhoc_certificate()
-> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let names: Vec<String> = ADHOC_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| io::Error::other(format!("could not make an ad-hoc certificate: {e}")))?;
    let key = PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der());
    Ok((vec![certified.cert.der().clone()], key.into()))
}

fn build_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("TLS certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An accepted connection with TLS on top: reads give the client's plaintext, writes are
/// encrypted.
///
/// It works over blocking and non-blocking sockets alike, with a socket's semantics: a read
/// or write that cannot progress without the network returns `WouldBlock`; a write accepts
/// at least one byte or returns `WouldBlock`. Encrypted bytes a non-blocking socket could
/// not take stay buffered; [`wants_write`](Self::wants_write) says so, and
/// [`flush`](Write::flush) sends them (`WouldBlock` again until the socket is writable).
/// An event loop must therefore call `flush` after writing a response, and wait for
/// writability while it fails with `WouldBlock`.
// hook for server core: wrap each accepted stream with `TlsStream::new(config.clone(), stream)`.
pub(crate) struct TlsStream<S> {
    conn: ServerConnection,
    io: S,
    /// The peer closed its side of the socket.
    eof: bool,
}

impl<S: Read + Write> TlsStream<S> {
    /// Starts the server side of a handshake on `io`; the handshake runs as the stream is
    /// read and written.
    pub(crate) fn new(config: Arc<ServerConfig>, io: S) -> io::Result<Self> {
        let conn = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream {
            conn,
            io,
            eof: false,
        })
    }

    /// The socket underneath.
    pub(crate) fn get_ref(&self) -> &S {
        &self.io
    }

    /// The socket underneath, mutably (for registering it with a poller).
    #[allow(dead_code)] // hook for server core
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Whether encrypted bytes wait to be written (the socket must become writable).
    #[allow(dead_code)] // hook for server core
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether the handshake is still running.
    #[allow(dead_code)] // hook for server core
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Sends `close_notify` and whatever is buffered, as far as the socket takes it now.
    pub(crate) fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_tls();
    }

    /// Writes buffered TLS records until none are left or the socket would block.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.io)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Like [`flush_tls`](Self::flush_tls), but a full socket is not an error: the records
    /// stay buffered for the next call.
    fn flush_tls_if_possible(&mut self) -> io::Result<()> {
        match self.flush_tls() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                // No plaintext yet: fetch more records below.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.eof {
                        return Ok(0);
                    }
                }
                // The peer closed the socket without `close_notify`. HTTP's own framing
                // detects a truncated request, so this is an ordinary end of stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Handshake messages must go out before the client sends more.
            self.flush_tls_if_possible()?;
            match self.conn.read_tls(&mut self.io) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = self.conn.process_new_packets() {
                // Tell the client why (the alert is queued), then fail the connection.
                let _ = self.flush_tls();
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            self.flush_tls_if_possible()?;
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Send older records first, so the plaintext buffer limit bounds what is unsent.
        self.flush_tls_if_possible()?;
        let n = self.conn.writer().write(buf)?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.flush_tls_if_possible()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()?;
        self.io.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;
    use std::thread;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified};
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore};

    /// A client config that trusts exactly `chain[0]`.
    fn client_trusting(cert: &CertificateDer<'static>) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// Runs a client request over a socket pair against a server-side [`TlsStream`] that
    /// echoes one line, upper-cased.
    fn roundtrip(server_config: Arc<ServerConfig>, client: Arc<ClientConfig>, name: &str) {
        let (server_sock, client_sock) = UnixStream::pair().unwrap();
        let server = thread::spawn(move || {
            let mut tls = TlsStream::new(server_config, server_sock).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while !got.ends_with(b"\n") {
                let n = tls.read(&mut buf).unwrap();
                assert!(n > 0, "client closed early");
                got.extend_from_slice(&buf[..n]);
            }
            tls.write_all(&got.to_ascii_uppercase()).unwrap();
            tls.flush().unwrap();
            tls.close();
        });
        let conn =
            ClientConnection::new(client, ServerName::try_from(name.to_owned()).unwrap()).unwrap();
        let mut stream = rustls::StreamOwned::new(conn, client_sock);
        stream.write_all(b"hello tls\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "HELLO TLS\n");
        server.join().unwrap();
    }

    #[test]
    fn adhoc_certificates_name_the_loopback_host() {
        let (chain, key) = adhoc_certificate().unwrap();
        let config = build_config(chain.clone(), key).unwrap();
        for name in ["localhost", "127.0.0.1", "::1"] {
            roundtrip(config.clone(), client_trusting(&chain[0]), name);
        }
    }

    #[test]
    fn pem_files_are_loaded() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        let config = server_config(&SslContext::files(&cert, &key)).unwrap();
        roundtrip(config, client_trusting(certified.cert.der()), "localhost");
    }

    #[test]
    fn bad_files_fail_at_start_up_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let err = server_config(&SslContext::files(&missing, &missing)).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let err = server_config(&SslContext::files(&empty, &empty)).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");

        // A certificate with somebody else's key.
        let a = rcgen::generate_simple_self_signed(vec!["a".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b".into()]).unwrap();
        let cert = dir.path().join("a.pem");
        let key = dir.path().join("b.key");
        std::fs::write(&cert, a.cert.pem()).unwrap();
        std::fs::write(&key, b.key_pair.serialize_pem()).unwrap();
        let err = server_config(&SslContext::files(&cert, &key)).unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
    }

    #[test]
    fn non_blocking_reads_would_block_until_the_client_speaks() {
        let config = server_config(&SslContext::Adhoc).unwrap();
        let (server_sock, _client_sock) = UnixStream::pair().unwrap();
        server_sock.set_nonblocking(true).unwrap();
        let mut tls = TlsStream::new(config, server_sock).unwrap();
        let err = tls.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(tls.is_handshaking());
        assert!(!tls.wants_write());
        assert!(tls.get_ref().peer_addr().is_ok());
    }

    #[test]
    fn garbage_instead_of_a_handshake_is_an_error() {
        let config = server_config(&SslContext::Adhoc).unwrap();
        let (server_sock, mut client_sock) = UnixStream::pair().unwrap();
        client_sock
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut tls = TlsStream::new(config, server_sock).unwrap();
        let err = tls.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_client_closing_without_close_notify_is_end_of_stream() {
        let config = server_config(&SslContext::Adhoc).unwrap();
        let (server_sock, client_sock) = UnixStream::pair().unwrap();
        drop(client_sock);
        let mut tls = TlsStream::new(config, server_sock).unwrap();
        assert_eq!(tls.read(&mut [0u8; 16]).unwrap(), 0);
    }

    /// Accepts any certificate: for checking that ad-hoc servers complete handshakes with
    /// clients that skip verification (as `curl -k` does).
    #[derive(Debug)]
    struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

    impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    #[test]
    fn unverifying_clients_complete_the_handshake() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
            .with_no_client_auth();
        let config = server_config(&SslContext::Adhoc).unwrap();
        roundtrip(config, Arc::new(client), "example.org");
    }
}
