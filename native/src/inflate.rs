//! DEFLATE decoder (RFC 1951, raw stream), for single-file bundles without crates. One member
//! at a time into a caller's buffer (single/stream.rs feeds it member by member), with every
//! length and distance checked and the output capped so a damaged file is an error, not a
//! memory blow-up. Huffman codes up to FAST_BITS long decode with one table look-up.

/// The whole stream into memory (no cap beyond the address space).
pub fn inflate(input: &[u8], size_hint: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(size_hint);
    inflate_into(input, &mut out, usize::MAX)?;
    Ok(out)
}

/// Inflates one complete raw DEFLATE stream that fills `input` exactly into `out` (cleared
/// first), refusing to produce more than `limit` bytes.
pub fn inflate_into(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), String> {
    out.clear();
    let mut bits = Bits { data: input, pos: 0, bit: 0, value: 0 };
    loop {
        let last = bits.take(1)?;
        match bits.take(2)? {
            0 => {
                bits.align();
                let len = bits.take(16)? as usize;
                let nlen = bits.take(16)? as usize;
                if len != !nlen & 0xffff {
                    return Err("stored block length check failed".into());
                }
                bits.align();
                let start = bits.pos;
                let end = start.checked_add(len).filter(|&e| e <= input.len()).ok_or("stored block past the end")?;
                if out.len() + len > limit {
                    return Err("more data than the index declares".into());
                }
                out.extend_from_slice(&input[start..end]);
                bits.pos = end;
            }
            1 => {
                let (lit, dist) = fixed_tables();
                block(&mut bits, out, &lit, &dist, limit)?;
            }
            2 => {
                let (lit, dist) = dynamic_tables(&mut bits)?;
                block(&mut bits, out, &lit, &dist, limit)?;
            }
            _ => return Err("invalid block type".into()),
        }
        if last == 1 {
            bits.align();
            if bits.pos != input.len() {
                return Err("data after the end of the compressed stream".into());
            }
            return Ok(());
        }
    }
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
    value: u64,
}

impl Bits<'_> {
    fn take(&mut self, n: u32) -> Result<u32, String> {
        while self.bit < n {
            let byte = *self.data.get(self.pos).ok_or("compressed data ends early")?;
            self.pos += 1;
            self.value |= (byte as u64) << self.bit;
            self.bit += 8;
        }
        let v = (self.value & ((1u64 << n) - 1)) as u32;
        self.value >>= n;
        self.bit -= n;
        Ok(v)
    }
    /// Buffers whole bytes ahead (up to 64 bits) for table look-ups.
    fn refill(&mut self) {
        while self.bit <= 56 && self.pos < self.data.len() {
            self.value |= (self.data[self.pos] as u64) << self.bit;
            self.pos += 1;
            self.bit += 8;
        }
    }
    /// Drops the rest of the current byte and gives back the whole bytes buffered ahead.
    fn align(&mut self) {
        self.pos -= (self.bit / 8) as usize;
        self.value = 0;
        self.bit = 0;
    }
}

const FAST_BITS: u32 = 10;

/// Canonical Huffman code: counts per length and symbols sorted by code.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
    /// Indexed by the next FAST_BITS input bits: code length << 9 | symbol, 0 if longer.
    fast: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, String> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[l as usize] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for i in 1..16 {
            offsets[i] = offsets[i - 1] + counts[i - 1];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[offsets[l as usize] as usize] = s as u16;
                offsets[l as usize] += 1;
            }
        }
        let mut fast = vec![0u16; 1 << FAST_BITS];
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + counts[len - 1] as u32) << 1;
            next[len] = code;
        }
        for (s, &l) in lengths.iter().enumerate() {
            let l = l as u32;
            if l == 0 {
                continue;
            }
            let c = next[l as usize];
            next[l as usize] += 1;
            if l <= FAST_BITS && c < (1 << l) {
                // DEFLATE sends codes most significant bit first: the table is bit-reversed.
                let rev = (c.reverse_bits() >> (32 - l)) as usize;
                for k in (rev..1 << FAST_BITS).step_by(1 << l) {
                    fast[k] = (l << 9) as u16 | s as u16;
                }
            }
        }
        Ok(Huffman { counts, symbols, fast })
    }

    fn decode(&self, bits: &mut Bits) -> Result<u16, String> {
        bits.refill();
        let entry = self.fast[(bits.value & ((1 << FAST_BITS) - 1)) as usize];
        let len = (entry >> 9) as u32;
        if entry != 0 && len <= bits.bit {
            bits.value >>= len;
            bits.bit -= len;
            return Ok(entry & 0x1ff);
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.take(1)? as i32;
            let count = self.counts[len] as i32;
            if code - count < first {
                return self.symbols.get((index + (code - first)) as usize).copied().ok_or_else(|| "bad Huffman code".to_string());
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("bad Huffman code".into())
    }
}

fn fixed_tables() -> (Huffman, Huffman) {
    let mut lengths = [0u8; 288];
    for (i, l) in lengths.iter_mut().enumerate() {
        *l = match i {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    (Huffman::new(&lengths).unwrap(), Huffman::new(&[5u8; 30]).unwrap())
}

fn dynamic_tables(bits: &mut Bits) -> Result<(Huffman, Huffman), String> {
    let hlit = bits.take(5)? as usize + 257;
    let hdist = bits.take(5)? as usize + 1;
    let hclen = bits.take(4)? as usize + 4;
    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
    let mut code_lengths = [0u8; 19];
    for &i in ORDER.iter().take(hclen) {
        code_lengths[i] = bits.take(3)? as u8;
    }
    let code = Huffman::new(&code_lengths)?;
    let mut lengths = vec![0u8; hlit + hdist];
    let mut i = 0;
    while i < hlit + hdist {
        let sym = code.decode(bits)?;
        let (value, repeat) = match sym {
            0..=15 => (sym as u8, 1),
            16 => (*lengths.get(i.wrapping_sub(1)).filter(|_| i > 0).ok_or("repeat with no previous length")?, 3 + bits.take(2)? as usize),
            17 => (0, 3 + bits.take(3)? as usize),
            18 => (0, 11 + bits.take(7)? as usize),
            _ => return Err("bad code length symbol".into()),
        };
        if i + repeat > lengths.len() {
            return Err("code lengths overflow".into());
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    Ok((Huffman::new(&lengths[..hlit])?, Huffman::new(&lengths[hlit..])?))
}

const LEN_BASE: [u16; 29] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u32; 30] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA: [u8; 30] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

fn block(bits: &mut Bits, out: &mut Vec<u8>, lit: &Huffman, dist: &Huffman, limit: usize) -> Result<(), String> {
    loop {
        let sym = lit.decode(bits)? as usize;
        if sym < 256 {
            if out.len() >= limit {
                return Err("more data than the index declares".into());
            }
            out.push(sym as u8);
        } else if sym == 256 {
            return Ok(());
        } else {
            let i = sym - 257;
            if i >= 29 {
                return Err("bad length symbol".into());
            }
            let len = LEN_BASE[i] as usize + bits.take(LEN_EXTRA[i] as u32)? as usize;
            let d = dist.decode(bits)? as usize;
            if d >= 30 {
                return Err("bad distance symbol".into());
            }
            let distance = DIST_BASE[d] as usize + bits.take(DIST_EXTRA[d] as u32)? as usize;
            if distance > out.len() {
                return Err("distance before the start of the output".into());
            }
            if out.len() + len > limit {
                return Err("more data than the index declares".into());
            }
            let start = out.len() - distance;
            if distance >= len {
                out.extend_from_within(start..start + len);
            } else {
                for k in 0..len {
                    out.push(out[start + k]);
                }
            }
        }
    }
}

// Streams made once with Python's zlib (raw DEFLATE, wbits -15), e.g.
// `zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)`; each test checks the block type
// in the first byte so a regenerated stream cannot quietly test another path.
#[cfg(test)]
mod tests {
    use super::*;

    fn block_type(stream: &[u8]) -> u8 {
        (stream[0] >> 1) & 3
    }

    const STORED: [u8; 29] = [
        0x01, 0x18, 0x00, 0xe7, 0xff, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x64, 0x20, 0x62, 0x6c, 0x6f, 0x63, 0x6b, 0x3a, 0x20,
        0x6b, 0x65, 0x70, 0x74, 0x20, 0x61, 0x73, 0x20, 0x69, 0x73,
    ];
    const FIXED: [u8; 15] = [0x4b, 0x4c, 0x4a, 0x4e, 0x44, 0x45, 0x0a, 0x15, 0x95, 0x55, 0x55, 0x95, 0x10, 0x12, 0x00];
    /// 300 × "z": one literal, then a length whose distance (1) is shorter than itself.
    const OVERLAP: [u8; 7] = [0xab, 0xaa, 0x1a, 0x05, 0xc4, 0x02, 0x00];
    const DYNAMIC_TEXT: &[u8] = b"DEFLATE streams code literals and lengths with one Huffman code and distances with another; a dynamic block sends both codes first, themselves compressed with a third code. Repeated repeated repeated words make back references.\n";
    const DYNAMIC: [u8; 154] = [
        0x65, 0x8e, 0x3b, 0x0e, 0xc2, 0x40, 0x0c, 0x44, 0x7b, 0x4e, 0x31, 0x07, 0x40, 0xb9, 0x00, 0x15, 0x12, 0x41, 0x14,
        0x54, 0x88, 0x0b, 0x38, 0xd9, 0x09, 0x59, 0x65, 0x3f, 0xc8, 0x5e, 0x88, 0xb8, 0x3d, 0x9b, 0x90, 0x8e, 0xce, 0xd2,
        0x7b, 0x33, 0xe3, 0x53, 0x7b, 0xbe, 0x1e, 0xef, 0x2d, 0xac, 0x28, 0x25, 0x1a, 0xfa, 0xec, 0x88, 0xe0, 0x0b, 0x55,
        0x82, 0x41, 0x92, 0x43, 0x60, 0x7a, 0x94, 0xd1, 0x30, 0xfb, 0x32, 0x22, 0x27, 0xe2, 0xf2, 0x1a, 0x86, 0x28, 0xe9,
        0xa7, 0x2e, 0x86, 0xf3, 0x56, 0x24, 0xf5, 0xdc, 0x1c, 0x49, 0xb9, 0x8c, 0xd4, 0x03, 0x04, 0xee, 0x93, 0x24, 0xfa,
        0x1e, 0x5d, 0xc8, 0xfd, 0x04, 0x63, 0x72, 0x86, 0xae, 0xd2, 0x35, 0x6b, 0x18, 0xbc, 0x5a, 0xd9, 0xa3, 0xda, 0xd1,
        0x18, 0xde, 0x5c, 0xe6, 0xe3, 0x53, 0x69, 0x46, 0xb7, 0x75, 0x55, 0xe8, 0xd5, 0xad, 0x7e, 0x83, 0x1b, 0x9f, 0x94,
        0x52, 0x99, 0xfe, 0x1d, 0x73, 0xd6, 0xda, 0x1d, 0x65, 0x22, 0x3a, 0xa9, 0x5b, 0xca, 0x81, 0xca, 0xe5, 0xa9, 0x66,
        0xf7, 0x05,
    ];
    /// A fixed block, an empty stored block (Z_SYNC_FLUSH), then a last fixed block whose back
    /// references reach into the first.
    const MULTI: [u8; 39] = [
        0xca, 0xcf, 0x4b, 0x55, 0x48, 0xca, 0xc9, 0x4f, 0xce, 0xd6, 0x51, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x2b, 0xc9,
        0x48, 0xcd, 0x53, 0x48, 0xcc, 0xcb, 0x07, 0xd2, 0x45, 0x30, 0xb1, 0x7c, 0x98, 0xb4, 0x42, 0x6e, 0x7e, 0x51, 0x2a,
        0x00,
    ];

    #[test]
    fn a_stored_block_is_copied_as_is() {
        assert_eq!(block_type(&STORED), 0);
        assert_eq!(inflate(&STORED, 0).unwrap(), b"stored block: kept as is");
    }

    #[test]
    fn a_fixed_huffman_block_decodes_literals_and_back_references() {
        assert_eq!(block_type(&FIXED), 1);
        assert_eq!(inflate(&FIXED, 0).unwrap(), b"abcabcabcabcabcabc xyzzy xyzzy");
    }

    #[test]
    fn a_copy_longer_than_its_distance_repeats_the_bytes_it_writes() {
        assert_eq!(block_type(&OVERLAP), 1);
        assert_eq!(inflate(&OVERLAP, 0).unwrap(), vec![b'z'; 300]);
    }

    #[test]
    fn a_dynamic_huffman_block_decodes_with_the_codes_it_sends() {
        assert_eq!(block_type(&DYNAMIC), 2);
        assert_eq!(inflate(&DYNAMIC, 0).unwrap(), DYNAMIC_TEXT);
    }

    #[test]
    fn blocks_follow_one_another_and_share_the_window() {
        assert_eq!(MULTI[0] & 1, 0, "the first block is not the last");
        assert_eq!(inflate(&MULTI, 0).unwrap(), b"one block, then another block, one block more");
    }

    #[test]
    fn output_beyond_the_limit_is_an_error() {
        let mut out = Vec::new();
        assert!(inflate_into(&OVERLAP, &mut out, 300).is_ok());
        let err = inflate_into(&OVERLAP, &mut out, 299).unwrap_err();
        assert!(err.contains("more data than the index declares"), "{err}");
        let err = inflate_into(&STORED, &mut out, 23).unwrap_err();
        assert!(err.contains("more data than the index declares"), "{err}");
    }

    #[test]
    fn a_stored_block_whose_length_check_fails_is_an_error() {
        let mut bad = STORED;
        bad[3] ^= 1; // NLEN no longer the complement of LEN
        assert_eq!(inflate(&bad, 0).unwrap_err(), "stored block length check failed");
    }

    #[test]
    fn a_truncated_stream_is_an_error() {
        for cut in [1, 10, 80, DYNAMIC.len() - 1] {
            assert!(inflate(&DYNAMIC[..cut], 0).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_distance_before_the_start_of_the_output_is_an_error() {
        // Fixed block: length 3 at distance 1 as its first symbol, then end of block.
        let bad = [0x03, 0x02, 0x00];
        assert_eq!(block_type(&bad), 1);
        assert_eq!(inflate(&bad, 0).unwrap_err(), "distance before the start of the output");
    }

    #[test]
    fn the_reserved_block_type_and_trailing_bytes_are_errors() {
        assert_eq!(inflate(&[0x07, 0x00], 0).unwrap_err(), "invalid block type");
        let mut trailing = FIXED.to_vec();
        trailing.push(0);
        assert_eq!(inflate(&trailing, 0).unwrap_err(), "data after the end of the compressed stream");
    }
}
