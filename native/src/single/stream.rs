//! The records of a format-2 single file as one byte stream (BufRead): members inflated one at a
//! time into a reused buffer, so memory holds one member whatever the bundle's size, and every
//! byte handed out is hashed on the way (the digest is known once the stream is drained).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::inflate::inflate_into;
use crate::sha256::Sha256;

/// The largest member accepted (the writer makes 1 MiB ones): bounds memory on a hostile index.
const MAX_MEMBER: u32 = 16 << 20;
/// A stored DEFLATE stream of MAX_MEMBER bytes with room to spare.
const MAX_COMPRESSED: u32 = MAX_MEMBER + (MAX_MEMBER >> 8) + 1024;

pub struct Members {
    file: File,
    index: BufReader<File>,
    members_left: u64,
    count: u64,
    next: u64,
    compressed: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    hash: Sha256,
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

impl Members {
    /// The members run from `offset` to `index`, the index (8 bytes per member) from there to
    /// `end`, where the trailer starts.
    pub fn open(exe: &Path, offset: u64, index: u64, end: u64) -> Result<Members, String> {
        if offset > index || index > end || (end - index) % 8 != 0 {
            return Err("its trailer does not describe a member index".into());
        }
        let open = || -> io::Result<(File, File)> {
            let mut file = File::open(exe)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut table = File::open(exe)?;
            table.seek(SeekFrom::Start(index))?;
            Ok((file, table))
        };
        let (file, table) = open().map_err(|e| format!("cannot read it: {}", e))?;
        Ok(Members {
            file,
            index: BufReader::with_capacity(1 << 12, table),
            members_left: index - offset,
            count: (end - index) / 8,
            next: 0,
            compressed: Vec::new(),
            out: Vec::new(),
            pos: 0,
            hash: Sha256::default(),
        })
    }

    fn load_next(&mut self) -> io::Result<()> {
        let mut entry = [0u8; 8];
        self.index.read_exact(&mut entry)?;
        let compressed = u32::from_le_bytes(entry[..4].try_into().unwrap());
        let size = u32::from_le_bytes(entry[4..].try_into().unwrap());
        let member = self.next;
        self.next += 1;
        if compressed > MAX_COMPRESSED || size > MAX_MEMBER || compressed as u64 > self.members_left {
            return Err(invalid(format!("member {} has an implausible size in the index", member)));
        }
        self.members_left -= compressed as u64;
        self.compressed.resize(compressed as usize, 0);
        self.file.read_exact(&mut self.compressed)?;
        inflate_into(&self.compressed, &mut self.out, size as usize).map_err(|why| invalid(format!("member {}: {}", member, why)))?;
        if self.out.len() != size as usize {
            return Err(invalid(format!("member {} holds {} bytes, the index says {}", member, self.out.len(), size)));
        }
        self.hash.update(&self.out);
        self.pos = 0;
        Ok(())
    }

    /// The digest of everything read, once every member has been read whole.
    pub fn finish(self) -> Result<[u8; 32], String> {
        if self.next != self.count || self.pos != self.out.len() || self.members_left != 0 {
            return Err("the records end before the compressed data does".into());
        }
        Ok(self.hash.finish())
    }
}

impl Read for Members {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Members {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.out.len() && self.next < self.count {
            self.load_next()?;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.out.len());
    }
}
