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
