//! XDR (RFC 4506) decoding and encoding over byte buffers.
//!
//! Why our own rather than a crate's: every length on the wire is checked against what is left of
//! the record before anything is allocated, so a hostile length can neither panic nor allocate
//! gigabytes (generic decoders that allocate `len` bytes first can). Decoding failures are a
//! value, [`Short`], that the RPC layer turns into GARBAGE_ARGS.

/// The arguments ran out, or a length or discriminant was impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short;

pub type Res<T> = Result<T, Short>;

/// Reads XDR items from a borrowed buffer.
#[derive(Clone)]
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if n > self.remaining() {
            return Err(Short);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u32(&mut self) -> Res<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Res<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn bool(&mut self) -> Res<bool> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Short),
        }
    }

    /// Variable-length opaque data of at most `max` bytes.
    pub fn opaque(&mut self, max: usize) -> Res<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(Short);
        }
        let data = self.take(len)?;
        self.take(pad(len))?;
        Ok(data)
    }

    /// The next opaque item, without moving past it (None if it is not well formed).
    pub fn peek_opaque(&self, max: usize) -> Option<&'a [u8]> {
        Dec {
            buf: self.buf,
            pos: self.pos,
        }
        .opaque(max)
        .ok()
    }

    /// Fixed-length opaque data.
    pub fn fixed(&mut self, len: usize) -> Res<&'a [u8]> {
        let data = self.take(len)?;
        self.take(pad(len))?;
        Ok(data)
    }

    /// An optional item (XDR `*T`).
    pub fn option<T>(&mut self, f: impl FnOnce(&mut Self) -> Res<T>) -> Res<Option<T>> {
        if self.bool()? {
            Ok(Some(f(self)?))
        } else {
            Ok(None)
        }
    }
}

pub fn pad(len: usize) -> usize {
    (4 - (len & 3)) & 3
}

/// Writes XDR items into a growing buffer.
#[derive(Default)]
pub struct Enc {
    pub buf: Vec<u8>,
}

impl Enc {
    pub fn with_capacity(n: usize) -> Enc {
        Enc {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u32(u32::from(v))
    }

    pub fn opaque(&mut self, data: &[u8]) -> &mut Self {
        self.u32(data.len() as u32);
        self.fixed(data)
    }

    pub fn fixed(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(&[0u8; 3][..pad(data.len())]);
        self
    }

    /// Overwrite a u32 written earlier at `at` (for lengths known only afterwards).
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(s) = self.buf.get_mut(at..at + 4) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut e = Enc::default();
        e.u32(7).u64(1 << 40).opaque(b"abcde").bool(true);
        let mut d = Dec::new(&e.buf);
        assert_eq!(d.u32(), Ok(7));
        assert_eq!(d.u64(), Ok(1 << 40));
        assert_eq!(d.opaque(16), Ok(&b"abcde"[..]));
        assert_eq!(d.bool(), Ok(true));
        assert_eq!(d.u32(), Err(Short));
    }

    #[test]
    fn hostile_lengths_are_refused_without_allocating() {
        let mut e = Enc::default();
        e.u32(u32::MAX);
        assert_eq!(Dec::new(&e.buf).opaque(usize::MAX), Err(Short));
        assert_eq!(Dec::new(&e.buf).opaque(64), Err(Short));
        let mut e = Enc::default();
        e.u32(2);
        assert_eq!(Dec::new(&e.buf).bool(), Err(Short));
    }
}
