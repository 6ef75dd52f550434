//! Writing what was captured as a pcap file (LINKTYPE_ETHERNET, the frames as
//! `lo` carried them, cut to the snap length) for Wireshark, tshark and
//! `tcpdump -r`.

use std::io;
use std::path::Path;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use super::source::RawFrame;

/// Write `frames` to `path` (replacing it). Returns how many were written.
pub(crate) fn write(path: &Path, frames: &[RawFrame], snap: u32) -> io::Result<usize> {
    let file = std::fs::File::create(path)?;
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        snaplen: snap,
        ..PcapHeader::default()
    };
    let mut w =
        PcapWriter::with_header(io::BufWriter::new(file), header).map_err(io::Error::other)?;
    for f in frames {
        let orig = f.wire_len.max(f.data.len() as u32);
        w.write_packet(&PcapPacket::new(f.ts, orig, &f.data))
            .map_err(io::Error::other)?;
    }
    let mut out = w.into_writer();
    io::Write::flush(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(frames.len())
}
