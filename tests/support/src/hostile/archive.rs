//! Writers for damaged and hostile containers: tar members with any name, type and declared size,
//! gzip and BGZF around them, and zip files built byte by byte.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use tar::EntryType;

/// One tar member, as hostile as needed.
pub struct Member {
    pub name: Vec<u8>,
    pub kind: EntryType,
    pub link: Option<Vec<u8>>,
    /// The size the header announces (`None`: the data's length).
    pub declared: Option<u64>,
    pub data: Vec<u8>,
}

impl Member {
    pub fn file(name: impl Into<Vec<u8>>, data: impl Into<Vec<u8>>) -> Member {
        Member {
            name: name.into(),
            kind: EntryType::Regular,
            link: None,
            declared: None,
            data: data.into(),
        }
    }
}

/// Writes tar members with the name bytes verbatim (a GNU long-name record when over 100 bytes).
pub fn write_member(out: &mut impl Write, member: &Member) -> io::Result<()> {
    if member.name.len() > 100 {
        let mut long = member.name.clone();
        long.push(0);
        raw_header(
            out,
            b"././@LongLink",
            EntryType::GNULongName,
            None,
            long.len() as u64,
        )?;
        write_padded(out, &long)?;
    }
    let short = &member.name[..member.name.len().min(100)];
    let declared = member.declared.unwrap_or(member.data.len() as u64);
    raw_header(out, short, member.kind, member.link.as_deref(), declared)?;
    write_padded(out, &member.data)
}

fn raw_header(
    out: &mut impl Write,
    name: &[u8],
    kind: EntryType,
    link: Option<&[u8]>,
    size: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    }
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(1_714_557_600);
    if matches!(kind, EntryType::Char | EntryType::Block) {
        header.set_device_major(1)?;
        header.set_device_minor(3)?;
    }
    header.set_cksum();
    out.write_all(header.as_bytes())
}

fn write_padded(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    out.write_all(data)?;
    let pad = data.len().div_ceil(512) * 512 - data.len();
    out.write_all(&vec![0; pad])
}

/// A whole tar archive, with its end-of-archive blocks.
pub fn tar_bytes(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    for member in members {
        write_member(&mut out, member).expect("writing to memory");
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

pub fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    std::fs::write(path, data)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// BGZF as the bundle writer makes it (SAM/BAM specification 4.1), with the blocks listed in
/// `corrupt` damaged in their middle.
pub fn bgzf(data: &[u8], corrupt: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, chunk) in data.chunks(60 * 1024).enumerate() {
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        deflate.write_all(chunk).expect("writing to memory");
        let mut cdata = deflate.finish().expect("writing to memory");
        if corrupt.contains(&index) {
            let middle = cdata.len() / 2;
            let end = (middle + 16).min(cdata.len());
            for byte in &mut cdata[middle..end] {
                *byte ^= 0x5a;
            }
        }
        let bsize = (cdata.len() + 25) as u16;
        out.extend_from_slice(&[
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
        ]);
        out.extend_from_slice(&bsize.to_le_bytes());
        out.extend_from_slice(&cdata);
        let mut crc = crc32fast::Hasher::new();
        crc.update(chunk);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&[
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0,
        0, 0, 0, 0,
    ]);
    out
}

/// `count` empty regular files in a gzipped tar, written straight to disk (a million headers are
/// 512 MB of tar but a few MB of gzip: build machines can be short of disk).
pub fn write_many_entries(path: &Path, count: usize) -> io::Result<()> {
    let mut out = flate2::write::GzEncoder::new(
        BufWriter::with_capacity(1 << 20, File::create(path)?),
        flate2::Compression::fast(),
    );
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(0);
    header.set_mode(0o644);
    header.set_mtime(1_714_557_600);
    header.as_old_mut().name[..16].copy_from_slice(b"many/0000000.log");
    header.set_cksum();
    let template = *header.as_bytes();
    let base_sum: u32 = template.iter().map(|b| u32::from(*b)).sum::<u32>()
        - template[148..156]
            .iter()
            .map(|b| u32::from(*b))
            .sum::<u32>()
        + 8 * u32::from(b' ');
    let mut block = template;
    for i in 0..count {
        // Only the seven digits change: patch them and the checksum, not a whole new header.
        let mut n = i;
        let mut sum = base_sum;
        for pos in (5..12).rev() {
            let digit = (n % 10) as u8;
            block[pos] = b'0' + digit;
            sum += u32::from(digit);
            n /= 10;
        }
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.write_all(&block)?;
    }
    out.write_all(&[0; 1024])?;
    out.finish()?.flush()
}

/// One zip member: its name, stored (method 0) or raw-deflated (8) data, and sizes.
pub struct ZipMember {
    pub name: Vec<u8>,
    pub method: u16,
    pub data: Vec<u8>,
    pub crc: u32,
    pub size: u64,
    /// Unix mode for the central directory's external attributes.
    pub mode: u32,
}

impl ZipMember {
    pub fn stored(name: impl Into<Vec<u8>>, data: &[u8]) -> ZipMember {
        let mut crc = crc32fast::Hasher::new();
        crc.update(data);
        ZipMember {
            name: name.into(),
            method: 0,
            data: data.to_vec(),
            crc: crc.finalize(),
            size: data.len() as u64,
            mode: 0o100644,
        }
    }
}

/// A zip file: local headers and data, then a central directory listing `central` (indexes into
/// `members`, so one member's data may be listed many times under other names).
pub fn zip_bytes(members: &[ZipMember], central: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for m in members {
        offsets.push(out.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&m.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&m.crc.to_le_bytes());
        out.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(m.size as u32).to_le_bytes());
        out.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&m.name);
        out.extend_from_slice(&m.data);
    }
    let cd_start = out.len() as u32;
    for (index, name) in central {
        let m = &members[*index];
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&m.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&m.crc.to_le_bytes());
        out.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(m.size as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        out.extend_from_slice(&(m.mode << 16).to_le_bytes());
        out.extend_from_slice(&offsets[*index].to_le_bytes());
        out.extend_from_slice(name);
    }
    let cd_size = out.len() as u32 - cd_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(central.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_entries_have_valid_headers() {
        let dir = std::env::temp_dir().join(format!("hostile-many-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("many.tar.gz");
        write_many_entries(&path, 1234).unwrap();
        let mut archive =
            tar::Archive::new(flate2::read::GzDecoder::new(File::open(&path).unwrap()));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names.len(), 1234);
        assert_eq!(names[1233], "many/0001233.log");
    }
}
