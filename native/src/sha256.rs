//! SHA-256 (FIPS 180-4), for verifying a single-file bundle's payload without crates.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

pub struct Sha256 {
    state: [u32; 8],
    buffer: [u8; 64],
    buffered: usize,
    length: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256 {
            state: [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
            buffer: [0; 64],
            buffered: 0,
            length: 0,
        }
    }
}

impl Sha256 {
    pub fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u64;
        if self.buffered > 0 {
            let take = (64 - self.buffered).min(data.len());
            self.buffer[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < 64 {
                return;
            }
            let block = self.buffer;
            self.compress(&block);
            self.buffered = 0;
        }
        let whole = data.len() / 64 * 64;
        self.compress_blocks(&data[..whole]);
        data = &data[whole..];
        self.buffer[..data.len()].copy_from_slice(data);
        self.buffered = data.len();
    }

    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8);
        self.update(&[0x80]);
        while self.buffered != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (i, word) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Whole 64-byte blocks, with the CPU's SHA instructions where it has them (about ten
    /// times the portable code: a single file's first run hashes its whole payload).
    fn compress_blocks(&mut self, blocks: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1") {
            // SAFETY: the CPU has the SHA and SSE4.1 extensions (checked just above).
            unsafe { shani::compress(&mut self.state, blocks) };
            return;
        }
        for block in blocks.chunks_exact(64) {
            self.compress(block.try_into().unwrap());
        }
    }

    fn compress(&mut self, block: &[u8; 64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1") {
            // SAFETY: as in compress_blocks.
            unsafe { shani::compress(&mut self.state, block) };
            return;
        }
        self.compress_portable(block);
    }

    fn compress_portable(&mut self, block: &[u8; 64]) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = self.state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }
}

/// The x86 SHA extensions (Intel's reference sequence): the state lives as ABEF and CDGH.
#[cfg(target_arch = "x86_64")]
mod shani {
    use std::arch::x86_64::*;

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub unsafe fn compress(state: &mut [u32; 8], blocks: &[u8]) {
        let swap = _mm_set_epi64x(0x0c0d0e0f08090a0b, 0x0405060700010203);
        let dcba = _mm_loadu_si128(state.as_ptr() as *const __m128i);
        let hgfe = _mm_loadu_si128(state.as_ptr().add(4) as *const __m128i);
        let cdab = _mm_shuffle_epi32(dcba, 0xb1);
        let efgh = _mm_shuffle_epi32(hgfe, 0x1b);
        let mut abef = _mm_alignr_epi8(cdab, efgh, 8);
        let mut cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
        for block in blocks.chunks_exact(64) {
            let (abef_was, cdgh_was) = (abef, cdgh);
            let p = block.as_ptr() as *const __m128i;
            let [mut w0, mut w1, mut w2, mut w3] = [0, 1, 2, 3].map(|i| _mm_shuffle_epi8(_mm_loadu_si128(p.add(i)), swap));
            // Four rounds per step, unrolled (an indexed array of the four message vectors kept
            // them in memory: 15% slower than OpenSSL). `$a` holds W[t-16..t-12], the others
            // W[t-12..t-4] in order; from the fifth step on it becomes W[t..t+4].
            macro_rules! rounds {
                ($i:expr, $a:ident, $b:ident, $c:ident, $d:ident) => {{
                    if $i >= 4 {
                        let s0 = _mm_sha256msg1_epu32($a, $b);
                        $a = _mm_sha256msg2_epu32(_mm_add_epi32(s0, _mm_alignr_epi8($d, $c, 4)), $d);
                    }
                    let msg = _mm_add_epi32($a, _mm_loadu_si128(super::K.as_ptr().add(4 * $i) as *const __m128i));
                    cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
                    abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(msg, 0x0e));
                }};
            }
            rounds!(0, w0, w1, w2, w3);
            rounds!(1, w1, w2, w3, w0);
            rounds!(2, w2, w3, w0, w1);
            rounds!(3, w3, w0, w1, w2);
            rounds!(4, w0, w1, w2, w3);
            rounds!(5, w1, w2, w3, w0);
            rounds!(6, w2, w3, w0, w1);
            rounds!(7, w3, w0, w1, w2);
            rounds!(8, w0, w1, w2, w3);
            rounds!(9, w1, w2, w3, w0);
            rounds!(10, w2, w3, w0, w1);
            rounds!(11, w3, w0, w1, w2);
            rounds!(12, w0, w1, w2, w3);
            rounds!(13, w1, w2, w3, w0);
            rounds!(14, w2, w3, w0, w1);
            rounds!(15, w3, w0, w1, w2);
            abef = _mm_add_epi32(abef, abef_was);
            cdgh = _mm_add_epi32(cdgh, cdgh_was);
        }
        let feba = _mm_shuffle_epi32(abef, 0x1b);
        let dchg = _mm_shuffle_epi32(cdgh, 0xb1);
        _mm_storeu_si128(state.as_mut_ptr() as *mut __m128i, _mm_blend_epi16(feba, dchg, 0xf0));
        _mm_storeu_si128(state.as_mut_ptr().add(4) as *mut __m128i, _mm_alignr_epi8(dchg, feba, 8));
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_digests() {
        let d = |s: &[u8]| {
            let mut h = Sha256::default();
            h.update(s);
            hex(&h.finish())
        };
        assert_eq!(d(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(d(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d(&[b'a'; 1000]), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
    }

    #[test]
    fn the_sha_instructions_agree_with_the_portable_code() {
        // Lengths around block edges, fed in uneven pieces.
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for len in [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4999, 5000] {
            let mut fast = Sha256::default();
            for piece in data[..len].chunks(37) {
                fast.update(piece);
            }
            let mut slow = Sha256::default();
            for block in data[..len / 64 * 64].chunks_exact(64) {
                slow.compress_portable(block.try_into().unwrap());
            }
            slow.length = (len / 64 * 64) as u64;
            slow.update(&data[len / 64 * 64..len]);
            assert_eq!(hex(&fast.finish()), hex(&slow.finish()), "{len} bytes");
        }
    }
}
