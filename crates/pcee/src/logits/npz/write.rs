//! Writing an `.npz` that `numpy.load` reads (uncompressed, as numpy.savez writes).

use crate::logits::{ExitLogits, LogitValues};
use npyz::WriterBuilder;
use std::io::{self, Write};
use std::path::Path;

/// Writes `logits` as an uncompressed `.npz` (what numpy.savez writes), atomically.
pub(in crate::logits) fn write(logits: &ExitLogits, path: &Path) -> io::Result<()> {
    crate::atomic::write_atomic(path, |out| {
        let mut zip = zip::ZipWriter::new(out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        let shape: Vec<u64> = [logits.exits(), logits.samples(), logits.classes()]
            .iter()
            .map(|&d| d as u64)
            .collect();
        zip.start_file("logits.npy", options)
            .map_err(io::Error::other)?;
        match logits.values() {
            LogitValues::F32(v) => write_npy(&mut zip, &shape, v.iter().copied())?,
            LogitValues::F64(v) => write_npy(&mut zip, &shape, v.iter().copied())?,
        }
        zip.start_file("labels.npy", options)
            .map_err(io::Error::other)?;
        write_npy(
            &mut zip,
            &[logits.samples() as u64],
            logits.labels().iter().map(|&y| i64::from(y)),
        )?;
        if logits.has_flops() {
            zip.start_file("flops.npy", options)
                .map_err(io::Error::other)?;
            write_npy(
                &mut zip,
                &[logits.exits() as u64],
                logits.flops().iter().copied(),
            )?;
        }
        zip.finish().map_err(io::Error::other)?;
        Ok(())
    })
}

fn write_npy<T, W>(
    out: &mut W,
    shape: &[u64],
    values: impl IntoIterator<Item = T>,
) -> io::Result<()>
where
    T: npyz::AutoSerialize,
    W: Write,
{
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(out)
        .begin_nd()?;
    writer.extend(values)?;
    writer.finish()
}
