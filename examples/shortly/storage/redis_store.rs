//! [`RedisStore`]: Shortly's links in Redis, under the keys of Werkzeug's tutorial.

use std::sync::Mutex;
use std::time::Duration;

use super::{Store, StoreError, base36_encode, lock};

/// How long to wait for Redis to accept a connection.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one Redis command may take before the request fails with a 500.
pub const REDIS_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Links kept in Redis under the tutorial's keys. Connections are reused from a small
/// pool of idle ones, so requests on different threads do not queue behind one socket.
pub struct RedisStore {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`) and checks the server answers, so a wrong
    /// `REDIS_URL` fails at start-up rather than on the first request.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let store = RedisStore {
            client: redis::Client::open(url)?,
            idle: Mutex::new(Vec::new()),
        };
        store.with_conn(|conn| redis::cmd("PING").query::<String>(conn))?;
        Ok(store)
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.idle).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = self
                    .client
                    .get_connection_with_timeout(REDIS_CONNECT_TIMEOUT)?;
                conn.set_read_timeout(Some(REDIS_IO_TIMEOUT))?;
                conn.set_write_timeout(Some(REDIS_IO_TIMEOUT))?;
                conn
            }
        };
        let result = f(&mut conn);
        if result.is_ok() || redis::ConnectionLike::is_open(&conn) {
            lock(&self.idle).push(conn);
        }
        Ok(result?)
    }
}

impl Store for RedisStore {
    fn insert_url(&self, url: &str) -> Result<String, StoreError> {
        use redis::Commands;
        let reverse_key = format!("reverse-url:{url}");
        self.with_conn(|conn| {
            if let Some(id) = conn.get::<_, Option<String>>(&reverse_key)? {
                return Ok(id);
            }
            let url_num: u64 = conn.incr("last-url-id", 1)?;
            let short_id = base36_encode(url_num);
            conn.set::<_, _, ()>(format!("url-target:{short_id}"), url)?;
            // Two requests may race to shorten the same new URL: the first to claim the
            // reverse key wins, and the loser answers with the winner's id.
            if conn.set_nx(&reverse_key, &short_id)? {
                Ok(short_id)
            } else {
                conn.get(&reverse_key)
            }
        })
    }

    fn get_target(&self, short_id: &str) -> Result<Option<String>, StoreError> {
        use redis::Commands;
        self.with_conn(|conn| conn.get(format!("url-target:{short_id}")))
    }

    fn incr_clicks(&self, short_id: &str) -> Result<(), StoreError> {
        use redis::Commands;
        self.with_conn(|conn| conn.incr(format!("click-count:{short_id}"), 1))
    }

    fn click_count(&self, short_id: &str) -> Result<u64, StoreError> {
        use redis::Commands;
        self.with_conn(|conn| {
            conn.get::<_, Option<u64>>(format!("click-count:{short_id}"))
                .map(Option::unwrap_or_default)
        })
    }
}
