//! Python's `random` module, reduced to what httpbin uses: the MT19937 generator seeded the
//! way `random.seed(int)` seeds it, `randint(0, 255)` and `random()`.
//!
//! httpbin documents `?seed=N` on `/bytes/<n>` and `/stream-bytes/<n>` as giving the same
//! bytes every time; reproducing Python's generator makes them the *same bytes as httpbin*,
//! so a client's recorded fixtures pass against either. Unseeded requests draw their seed
//! from the OS. Unlike httpbin, a seed affects only its own request (httpbin seeds one
//! process-wide generator).

const N: usize = 624;
const M: usize = 397;

/// A Mersenne Twister that produces exactly the numbers CPython's `random` does.
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    fn init_genrand(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        PyRandom { mt, index: N }
    }

    fn init_by_array(key: &[u32]) -> Self {
        let mut r = Self::init_genrand(19_650_218);
        let mt = &mut r.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        r
    }

    /// `random.seed(n)` for an integer `n` (its absolute value, as Python uses).
    pub fn from_seed(n: i128) -> Self {
        let mut magnitude = n.unsigned_abs();
        let mut key = Vec::new();
        while magnitude > 0 {
            key.push(magnitude as u32);
            magnitude >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        Self::init_by_array(&key)
    }

    /// A generator seeded from the operating system, as `random.seed()` does.
    pub fn from_entropy() -> Self {
        let mut bytes = [0u8; 4 * N];
        if getrandom::getrandom(&mut bytes).is_err() {
            // No OS entropy: fall back on the clock, which is still fine for test data.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            return Self::from_seed(t as i128);
        }
        let key: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Self::init_by_array(&key)
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mut v = self.mt[(k + M) % N] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.mt[k] = v;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random.getrandbits(k)` for `1 <= k <= 32`.
    fn getrandbits(&mut self, k: u32) -> u32 {
        self.next_u32() >> (32 - k)
    }

    /// `random.randint(0, 255)`: one byte, by rejection sampling on 9 bits as CPython does.
    pub fn byte(&mut self) -> u8 {
        loop {
            let r = self.getrandbits(9);
            if r < 256 {
                return r as u8;
            }
        }
    }

    /// `random.random()`: a float in `[0, 1)` with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: i128, n: usize) -> String {
        let mut r = PyRandom::from_seed(seed);
        (0..n).map(|_| format!("{:02x}", r.byte())).collect()
    }

    #[test]
    fn seeded_bytes_match_cpython() {
        // python3 -c 'import random; random.seed(S); print(bytes(random.randint(0,255) for _ in range(8)).hex())'
        assert_eq!(bytes(1, 8), "4420823cfde6f1c2");
        assert_eq!(bytes(0, 8), "c5d71484f8cf9bf4");
        assert_eq!(bytes(-7, 8), "a54dca182530bb1d");
        assert_eq!(bytes(1_099_511_627_781, 8), "890e175428447a46");
        assert_eq!(bytes(12_345_678_901_234_567_890_123, 8), "5043c865b92073d4");
    }

    #[test]
    fn random_is_in_unit_interval() {
        let mut r = PyRandom::from_seed(42);
        // python3 -c 'import random; random.seed(42); print(repr(random.random()))'
        assert_eq!(r.random(), 0.6394267984578837);
    }
}
