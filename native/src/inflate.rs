//! DEFLATE decoder (RFC 1951, raw stream), for single-file bundles without crates. One member
//! at a time into a caller's buffer (single/stream.rs feeds it member by member), with every
//! length and distance checked and the output capped so a damaged file is an error, not a
//! memory blow-up. Speed comes from a 64-bit bit buffer refilled eight bytes at a time, Huffman
//! tables that decode a symbol with one look-up (two for codes longer than the first level) and
//! give the base and extra bits of lengths and distances directly, and back references copied
//! eight bytes at a time into an output sized ahead.

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
    // Sized ahead (a member's size is known: the limit), grown only for an open-ended limit.
    let first = limit.min(input.len().saturating_mul(4).max(1 << 16));
    out.resize(first, 0);
    let mut sink = Output { buf: out, pos: 0, limit };
    let result = decode_stream(input, &mut sink);
    let end = sink.pos;
    out.truncate(end);
    result.map_err(String::from)
}

fn decode_stream(input: &[u8], out: &mut Output) -> Result<(), &'static str> {
    let mut bits = Bits { data: input, pos: 0, buf: 0, n: 0, over: 0 };
    let mut lit = Vec::new();
    let mut dist = Vec::new();
    loop {
        let last = bits.take(1)?;
        match bits.take(2)? {
            0 => stored(&mut bits, out)?,
            1 => {
                fixed_tables(&mut lit, &mut dist);
                block(&mut bits, out, &lit, &dist)?;
            }
            2 => {
                dynamic_tables(&mut bits, &mut lit, &mut dist)?;
                block(&mut bits, out, &lit, &dist)?;
            }
            _ => return Err("invalid block type"),
        }
        if last == 1 {
            let end = bits.align()?;
            if end != input.len() {
                return Err("data after the end of the compressed stream");
            }
            return Ok(());
        }
    }
}

/// The output: `buf` is allocated up to its length, `pos` bytes of it are written.
struct Output<'a> {
    buf: &'a mut Vec<u8>,
    pos: usize,
    limit: usize,
}

impl Output<'_> {
    /// Room for `n` more bytes, or the error of a stream longer than declared.
    #[inline(always)]
    fn room(&mut self, n: usize) -> Result<(), &'static str> {
        if self.pos + n <= self.buf.len() {
            return Ok(());
        }
        let needed = self.pos.checked_add(n).filter(|&e| e <= self.limit).ok_or("more data than the index declares")?;
        let grown = needed.max(self.buf.len().saturating_mul(2)).min(self.limit);
        self.buf.resize(grown, 0);
        Ok(())
    }

    #[inline(always)]
    fn put(&mut self, byte: u8) -> Result<(), &'static str> {
        if self.pos >= self.buf.len() {
            self.room(1)?;
        }
        self.buf[self.pos] = byte;
        self.pos += 1;
        Ok(())
    }

    /// A back reference: `len` bytes from `distance` back (which may overlap what it writes).
    #[inline(always)]
    fn copy(&mut self, distance: usize, len: usize) -> Result<(), &'static str> {
        if distance > self.pos {
            return Err("distance before the start of the output");
        }
        self.room(len)?;
        let (pos, from) = (self.pos, self.pos - distance);
        if distance >= 8 && pos + len + 8 <= self.buf.len() {
            // SAFETY: reads stay within [from, from + len + 8) and writes within
            // [pos, pos + len + 8), both inside buf (checked just above); a read eight bytes
            // long starts at least eight bytes behind the write, so it reads finished bytes.
            // Bytes written past pos + len are rewritten later or cut by the final truncate.
            unsafe {
                let base = self.buf.as_mut_ptr();
                let (mut s, mut d) = (base.add(from), base.add(pos));
                let end = base.add(pos + len);
                while d < end {
                    (d as *mut u64).write_unaligned((s as *const u64).read_unaligned());
                    s = s.add(8);
                    d = d.add(8);
                }
            }
        } else if distance == 1 {
            let b = self.buf[from];
            self.buf[pos..pos + len].fill(b);
        } else {
            for k in 0..len {
                self.buf[pos + k] = self.buf[from + k];
            }
        }
        self.pos += len;
        Ok(())
    }
}

fn stored(bits: &mut Bits, out: &mut Output) -> Result<(), &'static str> {
    let start = bits.align()?;
    let data = bits.data;
    let header = data.get(start..start + 4).ok_or("compressed data ends early")?;
    let len = u16::from_le_bytes([header[0], header[1]]) as usize;
    let nlen = u16::from_le_bytes([header[2], header[3]]) as usize;
    if len != !nlen & 0xffff {
        return Err("stored block length check failed");
    }
    let bytes = data.get(start + 4..start + 4 + len).ok_or("stored block past the end")?;
    out.room(len)?;
    out.buf[out.pos..out.pos + len].copy_from_slice(bytes);
    out.pos += len;
    bits.pos = start + 4 + len;
    Ok(())
}

/// Little-endian bit reader. `buf` holds `n` unread bits; bits above them are zero or the
/// true bits of the bytes that follow, so refills may OR the same bytes in again. Past the end
/// of the input it reads zero bytes (`over` counts them): a stream that really uses them is
/// truncated, which `refill` and `align` report.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    n: u32,
    over: usize,
}

impl Bits<'_> {
    /// At least 56 bits buffered.
    #[inline(always)]
    fn refill(&mut self) -> Result<(), &'static str> {
        if let Some(word) = self.data.get(self.pos..self.pos + 8) {
            self.buf |= u64::from_le_bytes(word.try_into().unwrap()) << self.n;
            self.pos += ((63 - self.n) >> 3) as usize;
            self.n |= 56;
            return Ok(());
        }
        while self.n <= 56 {
            match self.data.get(self.pos) {
                Some(&b) => {
                    self.buf |= (b as u64) << self.n;
                    self.pos += 1;
                }
                None => self.over += 1,
            }
            self.n += 8;
        }
        // A stream that uses only its own bytes never has more than eight made-up ones buffered.
        if self.over > 8 {
            return Err("compressed data ends early");
        }
        Ok(())
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf >>= n;
        self.n -= n;
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buf & ((1u64 << n) - 1)) as u32
    }

    fn take(&mut self, n: u32) -> Result<u32, &'static str> {
        if self.n < n {
            self.refill()?;
        }
        let v = self.peek(n);
        self.consume(n);
        Ok(v)
    }

    /// Drops the rest of the current byte, gives back the whole bytes buffered ahead and
    /// returns the position of the next byte (an error if the stream read past its end).
    fn align(&mut self) -> Result<usize, &'static str> {
        let next = self.pos + self.over - (self.n / 8) as usize;
        if next > self.data.len() {
            return Err("compressed data ends early");
        }
        self.pos = next;
        self.buf = 0;
        self.n = 0;
        self.over = 0;
        Ok(next)
    }
}

// A table entry: bits 0-4 the bits to consume at this level, 5-7 the kind, 8-11 the extra bits
// (a length's or distance's; a link's: its subtable's index bits), 16-31 the value (literal,
// base, or a link's subtable offset).
const LITERAL: u32 = 0;
const BASE: u32 = 1 << 5;
const END: u32 = 2 << 5;
const LINK: u32 = 3 << 5;
const INVALID: u32 = 4 << 5;
const KIND: u32 = 7 << 5;
const LIT_BITS: u32 = 10;
const DIST_BITS: u32 = 8;
const LENGTHS_BITS: u32 = 7;

const LEN_BASE: [u16; 29] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u32; 30] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA: [u8; 30] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

fn lit_entry(symbol: usize) -> u32 {
    match symbol {
        0..=255 => LITERAL | (symbol as u32) << 16,
        256 => END,
        257..=285 => BASE | (LEN_EXTRA[symbol - 257] as u32) << 8 | (LEN_BASE[symbol - 257] as u32) << 16,
        _ => INVALID,
    }
}

fn dist_entry(symbol: usize) -> u32 {
    match symbol {
        0..=29 => BASE | (DIST_EXTRA[symbol] as u32) << 8 | DIST_BASE[symbol] << 16,
        _ => INVALID,
    }
}

fn plain_entry(symbol: usize) -> u32 {
    LITERAL | (symbol as u32) << 16
}

/// The decoding table of the canonical Huffman code with these code lengths: `bits` index
/// bits, then one subtable per first-level prefix of longer codes. An over-subscribed code is
/// an error; an incomplete one leaves INVALID entries, an error only if the stream uses them.
fn build(table: &mut Vec<u32>, lengths: &[u8], bits: u32, entry: fn(usize) -> u32) -> Result<(), &'static str> {
    let mut counts = [0i32; 16];
    for &l in lengths {
        counts[l as usize] += 1;
    }
    counts[0] = 0;
    let mut left = 1i32;
    for &count in &counts[1..] {
        left = left * 2 - count;
        if left < 0 {
            return Err("bad Huffman code lengths");
        }
    }
    let longest = (1..16).rev().find(|&l| counts[l] > 0).unwrap_or(0) as u32;
    let sub_bits = longest.saturating_sub(bits);
    let mut next = [0u32; 16];
    let mut code = 0u32;
    for len in 1..16 {
        code = (code + counts[len - 1] as u32) << 1;
        next[len] = code;
    }
    table.clear();
    table.resize(1 << bits, INVALID);
    for (symbol, &l) in lengths.iter().enumerate() {
        let l = l as u32;
        if l == 0 {
            continue;
        }
        let c = next[l as usize];
        next[l as usize] += 1;
        // DEFLATE sends codes most significant bit first: tables are indexed bit-reversed.
        let rev = (c.reverse_bits() >> (32 - l)) as usize;
        let e = entry(symbol);
        if l <= bits {
            for k in (rev..1 << bits).step_by(1 << l) {
                table[k] = e | l;
            }
        } else {
            let prefix = rev & ((1 << bits) - 1);
            if table[prefix] & KIND != LINK {
                let at = table.len() as u32;
                table.resize(table.len() + (1 << sub_bits), INVALID);
                table[prefix] = LINK | sub_bits << 8 | at << 16 | bits;
            }
            let at = (table[prefix] >> 16) as usize;
            for k in ((rev >> bits)..1 << sub_bits).step_by(1 << (l - bits)) {
                table[at + k] = e | (l - bits);
            }
        }
    }
    Ok(())
}

/// The next symbol's entry, its code consumed; needs 15 bits buffered.
#[inline(always)]
fn decode(bits: &mut Bits, table: &[u32], index_bits: u32) -> Result<u32, &'static str> {
    let mut e = table[bits.peek(index_bits) as usize];
    if e & KIND == LINK {
        bits.consume(index_bits);
        e = table[(e >> 16) as usize + bits.peek((e >> 8) & 15) as usize];
    }
    if e & KIND == INVALID {
        return Err("bad Huffman code");
    }
    bits.consume(e & 31);
    Ok(e)
}

fn fixed_tables(lit: &mut Vec<u32>, dist: &mut Vec<u32>) {
    let mut lengths = [0u8; 288];
    for (i, l) in lengths.iter_mut().enumerate() {
        *l = match i {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    build(lit, &lengths, LIT_BITS, lit_entry).expect("the fixed code is complete");
    build(dist, &[5u8; 30], DIST_BITS, dist_entry).expect("the fixed code is valid");
}

fn dynamic_tables(bits: &mut Bits, lit: &mut Vec<u32>, dist: &mut Vec<u32>) -> Result<(), &'static str> {
    let hlit = bits.take(5)? as usize + 257;
    let hdist = bits.take(5)? as usize + 1;
    let hclen = bits.take(4)? as usize + 4;
    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
    let mut code_lengths = [0u8; 19];
    for &i in ORDER.iter().take(hclen) {
        code_lengths[i] = bits.take(3)? as u8;
    }
    let mut code = Vec::new();
    build(&mut code, &code_lengths, LENGTHS_BITS, plain_entry)?;
    let mut lengths = [0u8; 286 + 32];
    let total = hlit + hdist;
    let mut i = 0;
    while i < total {
        bits.refill()?;
        let sym = decode(bits, &code, LENGTHS_BITS)? >> 16;
        let (value, repeat) = match sym {
            0..=15 => (sym as u8, 1),
            16 if i > 0 => (lengths[i - 1], 3 + bits.take(2)? as usize),
            16 => return Err("repeat with no previous length"),
            17 => (0, 3 + bits.take(3)? as usize),
            _ => (0, 11 + bits.take(7)? as usize),
        };
        if i + repeat > total {
            return Err("code lengths overflow");
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    build(lit, &lengths[..hlit], LIT_BITS, lit_entry)?;
    build(dist, &lengths[hlit..total], DIST_BITS, dist_entry)
}

/// One Huffman-coded block, up to its end-of-block symbol.
fn block(bits: &mut Bits, out: &mut Output, lit: &[u32], dist: &[u32]) -> Result<(), &'static str> {
    'symbols: loop {
        bits.refill()?;
        // Up to three literals per refill: 56 bits hold three 15-bit codes.
        let mut e = decode(bits, lit, LIT_BITS)?;
        let mut literals = 0;
        while e & KIND == LITERAL {
            out.put((e >> 16) as u8)?;
            literals += 1;
            if literals == 3 {
                continue 'symbols;
            }
            e = decode(bits, lit, LIT_BITS)?;
        }
        if e & KIND == END {
            return Ok(());
        }
        if literals > 0 {
            bits.refill()?;
        }
        // 56 bits cover the rest: length extra 5, distance code 15 and extra 13.
        let extra = (e >> 8) & 15;
        let len = (e >> 16) as usize + bits.peek(extra) as usize;
        bits.consume(extra);
        let d = decode(bits, dist, DIST_BITS)?;
        let extra = (d >> 8) & 15;
        let distance = (d >> 16) as usize + bits.peek(extra) as usize;
        bits.consume(extra);
        out.copy(distance, len)?;
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

    /// Codes up to 15 bits (lengths 1, 2, ..., 15, 15: complete) decode through the first
    /// table and its subtables alike; an over-subscribed code is refused.
    #[test]
    fn codes_longer_than_the_first_table_decode_through_subtables() {
        let lengths: Vec<u8> = (1..=15).chain([15]).collect();
        let mut table = Vec::new();
        build(&mut table, &lengths, LIT_BITS, plain_entry).unwrap();
        assert!(table.len() > 1 << LIT_BITS, "no subtable was made");
        // Canonical codes, written most significant bit first into a little-endian stream.
        let mut next = 0u32;
        let mut codes = Vec::new();
        for (i, &l) in lengths.iter().enumerate() {
            if i > 0 {
                next = (next + 1) << (l - lengths[i - 1]);
            }
            codes.push((next, l as u32));
        }
        let message: Vec<usize> = (0..400).map(|i| (i * 7 + i / 16) % 16).collect();
        let (mut bytes, mut acc, mut n) = (Vec::new(), 0u64, 0u32);
        for &s in &message {
            let (code, l) = codes[s];
            acc |= ((code.reverse_bits() >> (32 - l)) as u64) << n;
            n += l;
            while n >= 8 {
                bytes.push(acc as u8);
                acc >>= 8;
                n -= 8;
            }
        }
        bytes.push(acc as u8);
        let mut bits = Bits { data: &bytes, pos: 0, buf: 0, n: 0, over: 0 };
        let decoded: Vec<usize> = message.iter().map(|_| {
            bits.refill().unwrap();
            (decode(&mut bits, &table, LIT_BITS).unwrap() >> 16) as usize
        }).collect();
        assert_eq!(decoded, message);
        let mut over = lengths.clone();
        over[15] = 14;
        assert_eq!(build(&mut table, &over, LIT_BITS, plain_entry).unwrap_err(), "bad Huffman code lengths");
    }

    #[test]
    fn a_code_the_stream_never_defined_is_an_error() {
        // One distance code of length 1 (allowed, incomplete): the other 1-bit code is unused.
        let mut table = Vec::new();
        build(&mut table, &[1], DIST_BITS, dist_entry).unwrap();
        let data = [0b10u8, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut bits = Bits { data: &data, pos: 0, buf: 0, n: 0, over: 0 };
        bits.refill().unwrap();
        assert_eq!(decode(&mut bits, &table, DIST_BITS).unwrap() >> 16, 1, "distance code 0 is distance 1");
        assert_eq!(decode(&mut bits, &table, DIST_BITS).unwrap_err(), "bad Huffman code");
    }

    /// Damaged streams end in an error or some output within the limit: never a panic or hang.
    #[test]
    fn mutated_streams_fail_cleanly() {
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut out = Vec::new();
        for stream in [&DYNAMIC[..], &MULTI[..], &FIXED[..], &OVERLAP[..]] {
            for _ in 0..3000 {
                let mut bad = stream.to_vec();
                for _ in 0..1 + random() % 4 {
                    let at = (random() % bad.len() as u64) as usize;
                    bad[at] ^= 1 << (random() % 8);
                }
                bad.truncate(bad.len() - (random() % 3) as usize);
                if inflate_into(&bad, &mut out, 4096).is_ok() {
                    assert!(out.len() <= 4096);
                }
            }
        }
    }

    #[test]
    fn the_reserved_block_type_and_trailing_bytes_are_errors() {
        assert_eq!(inflate(&[0x07, 0x00], 0).unwrap_err(), "invalid block type");
        let mut trailing = FIXED.to_vec();
        trailing.push(0);
        assert_eq!(inflate(&trailing, 0).unwrap_err(), "data after the end of the compressed stream");
    }
}
