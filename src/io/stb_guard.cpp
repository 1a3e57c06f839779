#include "io/stb_guard.hpp"

#include <fmt/format.h>

#include <array>
#include <climits>

#include "io/safetensors.hpp"  // FormatError

namespace fusescope::io {

namespace {

// Reads bytes the way stb's stbi__get8 does: past the end, zeros (so a truncated DHT is counted
// as stb will count it).
struct Bytes {
  std::span<const std::uint8_t> data;
  std::size_t pos = 0;

  bool at_end() const { return pos >= data.size(); }
  std::uint8_t get8() { return pos < data.size() ? data[pos++] : 0; }
  int get16() {
    const int hi = get8();
    return (hi << 8) | get8();
  }
};

constexpr std::uint8_t kSOF0 = 0xC0, kSOF1 = 0xC1, kSOF2 = 0xC2, kDHT = 0xC4, kEOI = 0xD9, kSOS = 0xDA;
bool is_restart(std::uint8_t m) { return m >= 0xD0 && m <= 0xD7; }

// After a scan header: skips the entropy-coded data to the next marker's 0xFF. Inside it, 0xFF 00
// is a stuffed data byte and 0xFF D0..D7 a restart marker, neither ending the scan.
void skip_entropy_coded_data(Bytes& in) {
  while (in.pos + 1 < in.data.size()) {
    if (in.data[in.pos] == 0xFF) {
      const std::uint8_t next = in.data[in.pos + 1];
      if (next != 0x00 && next != 0xFF && !is_restart(next)) return;
    }
    ++in.pos;
  }
  in.pos = in.data.size();
}

// The JPEG half of check_before_stb: the markers walked as stb walks them.
void check_jpeg_huffman_tables(std::span<const std::uint8_t> bytes, const std::string& label) {
  // The start of image as stb finds it: FF, any number of FF fill bytes, D8.
  std::size_t start = 1;
  while (start < bytes.size() && bytes[start] == 0xFF) ++start;
  if (bytes.empty() || bytes[0] != 0xFF || start >= bytes.size() || bytes[start] != 0xD8) return;
  // defined[class][id]: class 0 DC, 1 AC; ids 0..3 (stb refuses others).
  std::array<std::array<bool, 4>, 2> defined{};
  bool progressive = false;
  Bytes in{bytes, start + 1};
  while (!in.at_end()) {
    if (in.data[in.pos] != 0xFF) {  // garbage between segments: stb refuses or skips it, so do we
      ++in.pos;
      continue;
    }
    while (!in.at_end() && in.data[in.pos] == 0xFF) ++in.pos;  // fill bytes
    if (in.at_end()) return;
    const std::size_t marker_at = in.pos - 1;
    const std::uint8_t marker = in.get8();
    if (marker == kEOI) return;
    if (marker == 0xD8 || marker == 0x01 || is_restart(marker)) continue;  // no length field
    const std::size_t segment_start = in.pos;
    const int length = in.get16();
    if (length < 2) return;  // stb refuses the segment
    const std::size_t segment_end = segment_start + static_cast<std::size_t>(length);

    if (marker == kDHT) {
      for (int left = length - 2; left > 0;) {  // the loop stb runs, including on a short segment
        const std::size_t table_at = in.pos;
        const std::uint8_t q = in.get8();
        const int table_class = q >> 4, id = q & 15;
        if (table_class > 1 || id > 3) return;  // stb: "bad DHT header"
        int codes = 0;
        for (int i = 0; i < 16; ++i) codes += in.get8();
        if (codes > 256) {
          throw FormatError(fmt::format(
              "{}: corrupt JPEG: the {} Huffman table {} (DHT segment at byte {}, table at byte {}) declares {} codes; "
              "a Huffman table has at most 256 symbols",
              label, table_class == 0 ? "DC" : "AC", id, marker_at, table_at, codes));
        }
        defined[table_class][id] = true;
        in.pos += static_cast<std::size_t>(codes);
        left -= 17 + codes;
      }
    } else if (marker == kSOF0 || marker == kSOF1 || marker == kSOF2) {
      progressive = marker == kSOF2;
    } else if (marker == kSOS) {
      const int components = in.get8();
      std::array<std::array<int, 2>, 4> tables{};  // per component: DC id, AC id
      for (int c = 0; c < components && c < 4; ++c) {
        in.get8();  // component id
        const std::uint8_t q = in.get8();
        tables[c] = {q >> 4, q & 15};
      }
      const int spectral_start = in.get8();
      in.get8();  // spectral end
      const int successive_high = in.get8() >> 4;
      // The tables stb's decoder reads in this scan: baseline both; progressive, a first DC
      // scan its DC table, a DC refinement none, an AC scan its AC table.
      const bool reads_dc = !progressive || (spectral_start == 0 && successive_high == 0);
      const bool reads_ac = !progressive || spectral_start != 0;
      for (int c = 0; c < components && c < 4; ++c) {
        for (int table_class : {0, 1}) {
          const int id = tables[c][table_class];
          if (!(table_class == 0 ? reads_dc : reads_ac) || id > 3) continue;  // id > 3: stb refuses
          if (!defined[table_class][id]) {
            throw FormatError(fmt::format(
                "{}: corrupt JPEG: the scan at byte {} reads the {} Huffman table {}, which no DHT segment before "
                "it defines",
                label, marker_at, table_class == 0 ? "DC" : "AC", id));
          }
        }
      }
      in.pos = segment_end;
      skip_entropy_coded_data(in);
      continue;
    }
    in.pos = segment_end;
  }
}

// The PNM half: stb reads P5 and P6 headers (width, height, maximum value, in ASCII with
// whitespace and # comments between) and nothing else of the family.
void check_pnm_header_numbers(std::span<const std::uint8_t> bytes, const std::string& label) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return;
  std::size_t pos = 2;
  auto is_space = [](std::uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  for (const char* field : {"width", "height", "maximum value"}) {
    for (;;) {  // whitespace, and comments to the end of their line
      while (pos < bytes.size() && is_space(bytes[pos])) ++pos;
      if (pos >= bytes.size() || bytes[pos] != '#') break;
      while (pos < bytes.size() && bytes[pos] != '\n' && bytes[pos] != '\r') ++pos;
    }
    const std::size_t field_at = pos;
    std::int64_t value = 0;
    while (pos < bytes.size() && bytes[pos] >= '0' && bytes[pos] <= '9') {
      value = value * 10 + (bytes[pos++] - '0');
      if (value > INT_MAX) {
        throw FormatError(fmt::format("{}: corrupt PNM: the {} at byte {} is more than {} (the header's numbers are "
                                      "ints)",
                                      label, field, field_at, INT_MAX));
      }
    }
    if (pos == field_at) return;  // not a number: stb's own check refuses it
  }
}

}  // namespace

void check_before_stb(std::span<const std::uint8_t> bytes, const std::string& label) {
  check_jpeg_huffman_tables(bytes, label);
  check_pnm_header_numbers(bytes, label);
}

}  // namespace fusescope::io
