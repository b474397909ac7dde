//! The tutorial's first versions: code that a later step of `docs/tutorial.md` replaces.
//! They live here so that they are compiled (and, where they run, tested) like the
//! finished example; `the_tutorials_code_is_the_examples_code` checks that the tutorial
//! shows them as written here.
#![allow(dead_code)]

/// Step 2: the base structure, before routing, templates and the store.
pub mod step2 {
    use zeug::{Application, Environ, HttpException, Request, Response};

    pub struct Shortly {}

    impl Shortly {
        fn dispatch_request(&self, _request: &Request) -> Result<Response, HttpException> {
            Ok(Response::new("Hello World!"))
        }
    }

    impl Application for Shortly {
        fn call(&self, environ: Environ) -> Response {
            let request = Request::new(environ);
            self.dispatch_request(&request)
                .unwrap_or_else(|e| e.into_response())
        }
    }
}

/// Step 3: the store starts in memory; nothing can fail yet.
pub mod step3 {
    use crate::shortly::storage::{MemoryStore, Store};

    /// The database failed. Nothing fails in memory: the file store (step 10) and Redis
    /// (step 11) add their errors here.
    #[derive(Debug)]
    pub enum StoreError {}

    impl std::fmt::Display for StoreError {
        fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match *self {}
        }
    }

    /// The store `main` uses: for now, links in memory.
    pub fn store_from_env() -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(MemoryStore::default()))
    }
}

/// Step 10: links in a file, before Redis.
pub mod step10 {
    use std::fmt;

    use crate::shortly::storage::{FileStore, Store};

    /// The database failed: the file could not be read or written.
    #[derive(Debug)]
    pub enum StoreError {
        /// Reading or writing the local file failed.
        Io(std::io::Error),
    }

    impl fmt::Display for StoreError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                StoreError::Io(e) => write!(f, "storage file: {e}"),
            }
        }
    }

    impl From<std::io::Error> for StoreError {
        fn from(e: std::io::Error) -> Self {
            StoreError::Io(e)
        }
    }

    /// The store `main` uses: the file named by `SHORTLY_DB` (default `shortly.db` in the
    /// working directory).
    pub fn store_from_env() -> Result<Box<dyn Store>, StoreError> {
        let path = std::env::var_os("SHORTLY_DB").unwrap_or_else(|| "shortly.db".into());
        Ok(Box::new(FileStore::open(path)?))
    }

    // Not in the tutorial: here `FileStore` is the finished one, which returns the
    // finished `StoreError`.
    impl From<crate::shortly::storage::StoreError> for StoreError {
        fn from(e: crate::shortly::storage::StoreError) -> Self {
            match e {
                crate::shortly::storage::StoreError::Io(e) => StoreError::Io(e),
                other => StoreError::Io(std::io::Error::other(other)),
            }
        }
    }
}
