#include "core/zip_writer.h"

#include <zlib.h>

#include <fstream>

namespace tml {
namespace {

void Put16(std::string& s, uint32_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, v & 0xFFFF);
  Put16(s, v >> 16);
}

}  // namespace

void ZipWriter::Add(const std::string& name, const std::string& bytes) {
  entries_.push_back({name, bytes});
}

std::string ZipWriter::Bytes() const {
  std::string out, central;
  // A fixed time stamp (1 January 2026, 00:00): the same inputs give the same archive.
  const uint32_t dos_time = 0, dos_date = ((2026 - 1980) << 9) | (1 << 5) | 1;
  for (const Entry& e : entries_) {
    const uint32_t crc = static_cast<uint32_t>(crc32(
        0, reinterpret_cast<const Bytef*>(e.bytes.data()), static_cast<uInt>(e.bytes.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const auto size = static_cast<uint32_t>(e.bytes.size());
    // Local file header (APPNOTE 4.3.7): version 1.0, no flags, stored.
    Put32(out, 0x04034b50);
    Put16(out, 10);
    Put16(out, 0);
    Put16(out, 0);
    Put16(out, dos_time);
    Put16(out, dos_date);
    Put32(out, crc);
    Put32(out, size);
    Put32(out, size);
    Put16(out, static_cast<uint32_t>(e.name.size()));
    Put16(out, 0);
    out += e.name;
    out += e.bytes;
    // Central directory header (4.3.12); external attributes: a regular file, rw-r--r--.
    Put32(central, 0x02014b50);
    Put16(central, (3 << 8) | 10);  // made by: Unix, 1.0
    Put16(central, 10);
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, dos_time);
    Put16(central, dos_date);
    Put32(central, crc);
    Put32(central, size);
    Put32(central, size);
    Put16(central, static_cast<uint32_t>(e.name.size()));
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, 0);
    Put32(central, 0100644u << 16);
    Put32(central, offset);
    central += e.name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  // End of central directory record (4.3.16).
  Put32(out, 0x06054b50);
  Put16(out, 0);
  Put16(out, 0);
  Put16(out, static_cast<uint32_t>(entries_.size()));
  Put16(out, static_cast<uint32_t>(entries_.size()));
  Put32(out, static_cast<uint32_t>(central.size()));
  Put32(out, cd_offset);
  Put16(out, 0);
  return out;
}

Status ZipWriter::Write(const std::string& path) const {
  std::ofstream f(path, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot write", path);
  const std::string b = Bytes();
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
  f.close();
  if (!f) return Status::Errorf("{}: write failed", path);
  return Status::Ok();
}

}  // namespace tml
