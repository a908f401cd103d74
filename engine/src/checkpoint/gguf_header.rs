//! A GGUF header walked and bounded before candle reads it. candle's reader trusts the file:
//! an alignment of 0 divides by zero, a 48 MB metadata array becomes 1.5 GB of values, a
//! zero-sized dimension reaches code that indexes it. Here every count, length and dimension
//! is checked against the file's size and a hard limit first, without keeping anything.

use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"GGUF";
/// Far above a real model's (Dream 7B: ~340 tensors, ~30 keys).
const MAX_TENSORS: u64 = 1 << 16;
const MAX_KEYS: u64 = 1 << 16;
/// All array elements together (a 152k vocabulary, its merges and types: ~0.5M).
const MAX_ARRAY_ELEMENTS: u64 = 1 << 22;
/// One string's limit (a tokenizer's token or merge is a few bytes; a whole word-level
/// tokenizer.json of a small test model fits).
pub(crate) const MAX_STRING_BYTES: u64 = 1 << 20;
const MAX_DIMS: u32 = 4;
const MAX_ELEMENTS: u64 = 1 << 36;

/// The ggml tensor types candle computes with, by their GGUF ids.
const COMPUTED_TYPES: [(u32, &str); 13] = [
    (0, "F32"),
    (1, "F16"),
    (30, "BF16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (6, "Q5_0"),
    (7, "Q5_1"),
    (8, "Q8_0"),
    (10, "Q2_K"),
    (11, "Q3_K"),
    (12, "Q4_K"),
    (13, "Q5_K"),
    (14, "Q6_K"),
];

/// The other types llama.cpp writes, named in the refusal.
const OTHER_TYPES: [(u32, &str); 19] = [
    (9, "Q8_1"),
    (15, "Q8_K"),
    (16, "IQ2_XXS"),
    (17, "IQ2_XS"),
    (18, "IQ3_XXS"),
    (19, "IQ1_S"),
    (20, "IQ4_NL"),
    (21, "IQ3_S"),
    (22, "IQ2_S"),
    (23, "IQ4_XS"),
    (24, "I8"),
    (25, "I16"),
    (26, "I32"),
    (27, "I64"),
    (28, "F64"),
    (29, "IQ1_M"),
    (34, "TQ1_0"),
    (35, "TQ2_0"),
    (39, "MXFP4"),
];

struct Walker<R> {
    r: R,
    /// Bytes left in the file: no length may exceed it.
    left: u64,
    version: u32,
    elements: u64,
}

impl<R: Read> Walker<R> {
    fn bytes<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|_| "the file ends inside its header".to_string())?;
        self.left = self.left.saturating_sub(N as u64);
        Ok(b)
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        self.bytes::<8>().map(u64::from_le_bytes)
    }
    /// A count or length: u32 in version 1, u64 after.
    fn len(&mut self) -> std::result::Result<u64, String> {
        if self.version == 1 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }
    fn skip(&mut self, n: u64) -> std::result::Result<(), String> {
        if n > self.left {
            return Err("a length runs past the end of the file".into());
        }
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink()).map_err(|e| e.to_string())?;
        if copied != n {
            return Err("the file ends inside its header".into());
        }
        self.left -= n;
        Ok(())
    }
    fn string(&mut self, what: &str) -> std::result::Result<Vec<u8>, String> {
        let n = self.len()?;
        if n > MAX_STRING_BYTES || n > self.left {
            return Err(format!("{what} of {n} bytes (the limit is {MAX_STRING_BYTES})"));
        }
        let mut s = vec![0u8; n as usize];
        self.r.read_exact(&mut s).map_err(|_| "the file ends inside its header".to_string())?;
        self.left -= n;
        Ok(s)
    }
    /// Walks one value of type `ty`; returns it as a number when it is a scalar integer.
    fn value(&mut self, ty: u32, depth: u32) -> std::result::Result<Option<u64>, String> {
        let fixed = |ty| match ty {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            _ => None,
        };
        match ty {
            0 | 7 => self.bytes::<1>().map(|b| Some(u64::from(b[0]))),
            1 => self.bytes::<1>().map(|_| None),
            2 => self.bytes::<2>().map(|b| Some(u64::from(u16::from_le_bytes(b)))),
            3 => self.bytes::<2>().map(|_| None),
            4 => self.u32().map(|v| Some(u64::from(v))),
            5 | 6 => self.bytes::<4>().map(|_| None),
            10 => self.u64().map(Some),
            11 | 12 => self.bytes::<8>().map(|_| None),
            8 => self.string("a string").map(|_| None),
            9 => {
                let elem = self.u32()?;
                let n = self.len()?;
                self.elements = self.elements.saturating_add(n);
                if self.elements > MAX_ARRAY_ELEMENTS {
                    return Err(format!("metadata arrays hold over {MAX_ARRAY_ELEMENTS} values"));
                }
                if depth > 1 {
                    return Err("arrays nested more than two deep".into());
                }
                match fixed(elem) {
                    Some(size) => self.skip(n.saturating_mul(size))?,
                    None => {
                        for _ in 0..n {
                            self.value(elem, depth + 1)?;
                        }
                    }
                }
                Ok(None)
            }
            other => Err(format!("unknown metadata type {other}")),
        }
    }
}

/// Walks the header of the GGUF file at `path`, refusing anything out of bounds with a
/// `CorruptWeights` error that says what.
pub fn check(path: &Path) -> Result<()> {
    let corrupt = |reason: String| Error::CorruptWeights { path: path.to_owned(), reason };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut w = Walker { r: BufReader::new(file), left: size, version: 0, elements: 0 };
    let walk = |w: &mut Walker<BufReader<std::fs::File>>| -> std::result::Result<(), String> {
        if &w.bytes::<4>()? != MAGIC {
            return Err("not a GGUF file (no GGUF magic)".into());
        }
        w.version = w.u32()?;
        if !(1..=3).contains(&w.version) {
            return Err(format!("GGUF version {} is not supported", w.version));
        }
        let tensors = w.len()?;
        let keys = w.len()?;
        if tensors > MAX_TENSORS || keys > MAX_KEYS {
            return Err(format!(
                "{tensors} tensors and {keys} metadata keys (the limits are {MAX_TENSORS} and {MAX_KEYS})"
            ));
        }
        for _ in 0..keys {
            let key = w.string("a metadata key")?;
            let ty = w.u32()?;
            let value = w.value(ty, 0)?;
            if key == b"general.alignment" {
                match value {
                    Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 16 => {}
                    _ => return Err("general.alignment must be a power of two up to 65536".into()),
                }
            }
        }
        for _ in 0..tensors {
            let name = w.string("a tensor name")?;
            let name = String::from_utf8_lossy(&name).into_owned();
            let dims = w.u32()?;
            if !(1..=MAX_DIMS).contains(&dims) {
                return Err(format!("tensor `{name}` has {dims} dimensions"));
            }
            let mut elements: u64 = 1;
            for _ in 0..dims {
                let d = w.len()?;
                if d == 0 {
                    return Err(format!("tensor `{name}` has a dimension of size 0"));
                }
                elements = elements.saturating_mul(d);
            }
            if elements > MAX_ELEMENTS {
                return Err(format!("tensor `{name}` has {elements} elements (the limit is {MAX_ELEMENTS})"));
            }
            let dtype = w.u32()?;
            if !COMPUTED_TYPES.iter().any(|&(id, _)| id == dtype) {
                let known = OTHER_TYPES.iter().find(|&&(id, _)| id == dtype);
                let kind = known.map_or_else(|| format!("unknown type {dtype}"), |(_, n)| format!("type {n}"));
                let supported: Vec<&str> = COMPUTED_TYPES.iter().map(|(_, n)| *n).collect();
                return Err(format!(
                    "tensor `{name}` is stored as {kind}, which this engine cannot compute with (it can: {})",
                    supported.join(", ")
                ));
            }
            let offset = w.u64()?;
            if offset >= size {
                return Err(format!("tensor `{name}` starts past the end of the file"));
            }
        }
        Ok(())
    };
    walk(&mut w).map_err(corrupt)
}
