//! The gzip encoders of published layers, one per [`Compressor`] a
//! versions.lock can record. Each writes the same bytes for the same input
//! whatever the time or how the input is split into writes: a gzip header
//! with no file name and modification time 0, one deflate stream at level
//! 6, the CRC-32 and length trailer. zlib-rs (flate2's backend) writes new
//! versions' layers; miniz_oxide, driven here directly, writes the layers of
//! versions published before compressors were recorded, byte for byte as
//! flate2 over miniz_oxide wrote them (the digests the lock recorded).
//! Updating either crate must keep the digests its tests pin; a crate whose
//! bytes change is a new `Compressor`.

use std::io::Write;

use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

use crate::lock::Compressor;

/// The gzip level of every published layer (fixed: another level gives
/// other bytes, hence other digests).
pub const GZIP_LEVEL: u8 = 6;

/// The gzip header of a layer: no name, modification time 0, level 6 (no
/// extra flags), OS unknown (255).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// The size of the pieces zlib-rs is given: its bytes depend on how its
/// input is split, so it always receives this much at a time.
const BLOCK: usize = 64 << 10;

/// A gzip encoder writing into `W`.
pub enum Encoder<W: Write> {
    /// zlib-rs, through flate2, given [`BLOCK`]-sized pieces.
    ZlibRs(Blocks<W>),
    /// miniz_oxide, framed here.
    Miniz(MinizGzip<W>),
}

impl Compressor {
    /// A gzip encoder of this compressor writing into `out`.
    pub fn encoder<W: Write>(self, out: W) -> Encoder<W> {
        match self {
            Compressor::ZlibRs6 => Encoder::ZlibRs(Blocks {
                encoder: flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(255)
                    .write(out, flate2::Compression::new(u32::from(GZIP_LEVEL))),
                pending: Vec::with_capacity(BLOCK),
            }),
            Compressor::Miniz6 => Encoder::Miniz(MinizGzip::new(out)),
        }
    }

    /// The store's name for what this compressor wrote: empty for the
    /// original (the store's names before compressors were recorded).
    pub fn file_suffix(self) -> &'static str {
        match self {
            Compressor::Miniz6 => "",
            Compressor::ZlibRs6 => ".zlib-rs",
        }
    }
}

impl<W: Write> Encoder<W> {
    /// Ends the gzip stream; returns the writer.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Encoder::ZlibRs(mut blocks) => {
                blocks.encoder.write_all(&blocks.pending)?;
                blocks.encoder.finish()
            }
            Encoder::Miniz(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::ZlibRs(blocks) => blocks.write(buf),
            Encoder::Miniz(encoder) => encoder.write(buf),
        }
    }

    /// zlib-rs: flushes the writer beneath only (a deflate flush would put
    /// other bytes in the stream). miniz_oxide: a deflate sync flush first,
    /// as flate2 made (see [`MinizGzip`]'s `flush`).
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::ZlibRs(blocks) => blocks.encoder.get_mut().flush(),
            Encoder::Miniz(encoder) => encoder.flush(),
        }
    }
}

/// A gzip encoder given its input in [`BLOCK`]s, whatever the writes.
pub struct Blocks<W: Write> {
    encoder: flate2::write::GzEncoder<W>,
    pending: Vec<u8>,
}

impl<W: Write> Blocks<W> {
    /// Takes what fits of `buf` in the pending block; compresses the
    /// block once full.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let taken = buf.len().min(BLOCK - self.pending.len());
        self.pending.extend_from_slice(&buf[..taken]);
        if self.pending.len() == BLOCK {
            self.encoder.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(taken)
    }
}

/// gzip by miniz_oxide's raw deflate stream at level 6.
pub struct MinizGzip<W: Write> {
    out: W,
    deflate: Box<CompressorOxide>,
    crc: crc32fast::Hasher,
    length: u32,
    buffer: Vec<u8>,
    started: bool,
}

impl<W: Write> MinizGzip<W> {
    fn new(out: W) -> Self {
        let mut deflate: Box<CompressorOxide> = Box::default();
        deflate.set_format_and_level(DataFormat::Raw, GZIP_LEVEL);
        MinizGzip {
            out,
            deflate,
            crc: crc32fast::Hasher::new(),
            length: 0,
            buffer: vec![0; 32 << 10],
            started: false,
        }
    }

    /// Writes the gzip header, once.
    fn start(&mut self) -> std::io::Result<()> {
        if !self.started {
            self.out.write_all(&HEADER)?;
            self.started = true;
        }
        Ok(())
    }

    /// Deflates `input` with `flush`, writing what comes out; returns how
    /// much of `input` was taken and whether the stream ended (an error when
    /// nothing moved, which only a broken stream does).
    fn run(&mut self, input: &[u8], flush: MZFlush) -> std::io::Result<(usize, bool)> {
        self.start()?;
        let result = miniz_oxide::deflate::stream::deflate(&mut self.deflate, input, &mut self.buffer, flush);
        self.out.write_all(&self.buffer[..result.bytes_written])?;
        match result.status {
            Ok(MZStatus::StreamEnd) => Ok((result.bytes_consumed, true)),
            Ok(_) if result.bytes_consumed + result.bytes_written > 0 => Ok((result.bytes_consumed, false)),
            Ok(status) => Err(std::io::Error::other(format!("deflate made no progress: {status:?}"))),
            Err(e) => Err(std::io::Error::other(format!("deflate failed: {e:?}"))),
        }
    }

    fn finish(mut self) -> std::io::Result<W> {
        while !self.run(&[], MZFlush::Finish)?.1 {}
        self.out.write_all(&self.crc.clone().finalize().to_le_bytes())?;
        self.out.write_all(&self.length.to_le_bytes())?;
        Ok(self.out)
    }
}

impl<W: Write> Write for MinizGzip<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut taken = 0;
        while taken == 0 {
            taken = self.run(buf, MZFlush::None)?.0;
        }
        self.crc.update(&buf[..taken]);
        self.length = self.length.wrapping_add(taken as u32);
        Ok(taken)
    }

    /// A sync flush, then what is left drained, as flate2 over
    /// miniz_oxide flushed: the rewritten step layers of versions
    /// published then were flushed so, once, before the end (their bytes
    /// hold the empty stored block it writes).
    fn flush(&mut self) -> std::io::Result<()> {
        let mut mode = MZFlush::Sync;
        while self.drain(mode)? > 0 {
            mode = MZFlush::None;
        }
        self.out.flush()
    }
}

impl<W: Write> MinizGzip<W> {
    /// Deflates no more input with `flush`, writing what comes out; how
    /// much came out.
    fn drain(&mut self, flush: MZFlush) -> std::io::Result<usize> {
        self.start()?;
        let result = miniz_oxide::deflate::stream::deflate(&mut self.deflate, &[], &mut self.buffer, flush);
        self.out.write_all(&self.buffer[..result.bytes_written])?;
        match result.status {
            Ok(_) | Err(miniz_oxide::MZError::Buf) => Ok(result.bytes_written),
            Err(e) => Err(std::io::Error::other(format!("deflate failed: {e:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    /// `data` compressed in writes of `chunk` bytes, flushed once before
    /// the end when `flushed` (as a rewritten layer is).
    fn compressed(compressor: Compressor, data: &[u8], chunk: usize, flushed: bool) -> Vec<u8> {
        let mut encoder = compressor.encoder(Vec::new());
        for piece in data.chunks(chunk) {
            encoder.write_all(piece).unwrap_or_else(|e| panic!("{e}"));
        }
        if flushed {
            encoder.flush().unwrap_or_else(|e| panic!("{e}"));
        }
        encoder.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    /// 400 kB that compress well.
    fn data() -> Vec<u8> {
        (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    /// 1 MiB that hardly compress (xorshift): blocks fill the encoders'
    /// output buffers.
    fn noise() -> Vec<u8> {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        (0..1usize << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// The bytes each compressor writes are pinned: a crate update that
    /// changes them would change every digest published with it, and must
    /// fail here first. The miniz_oxide digests are what flate2 1.1.11 over
    /// miniz_oxide 0.9.1 wrote before this module existed (its `flush`, a
    /// sync flush, included); zlib-rs's are the same flushed or not.
    #[test]
    fn each_compressor_writes_its_pinned_bytes_however_the_input_is_split() {
        let cases = [
            (
                Compressor::Miniz6,
                data(),
                false,
                "1ed25f492fb0136149afe8f162b3dba8f280d648141a02d845682e6d83f88162",
            ),
            (
                Compressor::Miniz6,
                data(),
                true,
                "5f7a54c7d4ceabe011cde11dd7b458b7696384add342a101a2c2362822e57e57",
            ),
            (
                Compressor::Miniz6,
                noise(),
                false,
                "6f8ed922b7eb0c7d4f134ffef47edf2a82cec54e391a2c4947c0d9951401358c",
            ),
            (
                Compressor::Miniz6,
                noise(),
                true,
                "433923d1e13eff369cdec3a1f0c6bbcaea59de4c2617091df47618e4fb0fe643",
            ),
            (
                Compressor::ZlibRs6,
                data(),
                false,
                "d61ec7fc03c9fb20947df25e7d916303edfe0752cbe0869b780a2757c060e919",
            ),
            (
                Compressor::ZlibRs6,
                noise(),
                false,
                "cdf9758789740d34c664693448837288807372454b03a7b9e3890cb597049e68",
            ),
            (
                Compressor::ZlibRs6,
                noise(),
                true,
                "cdf9758789740d34c664693448837288807372454b03a7b9e3890cb597049e68",
            ),
        ];
        for (compressor, data, flushed, pinned) in cases {
            for chunk in [1 << 20, 8192, 1000, 7] {
                let bytes = compressed(compressor, &data, chunk, flushed);
                assert_eq!(&bytes[..10], &HEADER, "{compressor:?}: no name, no time");
                assert_eq!(
                    super::super::oci::sha256(&bytes),
                    format!("sha256:{pinned}"),
                    "{compressor:?} of {} bytes in writes of {chunk}, flushed {flushed}: the compressed bytes changed, so would published digests",
                    data.len()
                );
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut back)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(back == data, "{compressor:?}: round trip");
            }
        }
    }

    #[test]
    fn the_original_compressor_is_the_one_the_lock_leaves_out() {
        assert!(Compressor::default().is_original());
        assert!(!Compressor::NEW.is_original());
        assert_eq!(Compressor::Miniz6.file_suffix(), "");
        assert_ne!(Compressor::NEW.file_suffix(), "");
    }
}
