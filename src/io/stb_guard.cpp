#include "io/stb_guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

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

// After a scan header: skips the entropy-coded data to the next marker's 0xFF and returns how many
// bytes it spans. Inside it, 0xFF 00 is a stuffed data byte and 0xFF D0..D7 a restart marker,
// neither ending the scan (both counted: an upper bound on the coded bits, which is what the
// truncation check below needs).
std::size_t skip_entropy_coded_data(Bytes& in) {
  const std::size_t begin = in.pos;
  while (in.pos + 1 < in.data.size()) {
    if (in.data[in.pos] == 0xFF) {
      const std::uint8_t next = in.data[in.pos + 1];
      if (next != 0x00 && next != 0xFF && !is_restart(next)) return in.pos - begin;
    }
    ++in.pos;
  }
  in.pos = in.data.size();
  return in.pos - begin;
}

// A frame component as the SOF declares it: its id and sampling factors.
struct FrameComponent {
  int id = 0, h = 0, v = 0;
  bool dc_coded = false;  // a scan before the end codes its DC coefficients
};

// The 8x8 blocks a component has, as stb counts them for a non-interleaved scan (an interleaved
// one pads to whole MCUs, so never fewer).
std::uint64_t component_blocks(std::uint64_t width, std::uint64_t height, const FrameComponent& c, int h_max,
                               int v_max) {
  const std::uint64_t w = (width * c.h + h_max - 1) / h_max, hgt = (height * c.v + v_max - 1) / v_max;
  return ((w + 7) / 8) * ((hgt + 7) / 8);
}

// The JPEG half of check_before_stb: the markers walked as stb walks them.
//
// Besides the Huffman tables it bounds the coded data from below: every 8x8 block's DC
// coefficient takes at least one bit in any scan that codes it (a Huffman code is 1 to 16 bits; a
// progressive DC refinement is exactly one bit), and every component's DC is coded by some scan.
// stb reads a missing byte as zero and decodes on, so a truncated file costs what its declared
// size costs: 236 bytes declaring 1283x40197 pixels kept the image fuzzer busy for 14 s under
// ASan. A file short of that bound is cut off (or was never whole); refused as truncated.
void check_jpeg_huffman_tables(std::span<const std::uint8_t> bytes, const std::string& label) {
  // The start of image as stb finds it: FF, any number of FF fill bytes, D8.
  std::size_t start = 1;
  while (start < bytes.size() && bytes[start] == 0xFF) ++start;
  if (bytes.empty() || bytes[0] != 0xFF || start >= bytes.size() || bytes[start] != 0xD8) return;
  // defined[class][id]: class 0 DC, 1 AC; ids 0..3 (stb refuses others).
  std::array<std::array<bool, 4>, 2> defined{};
  bool progressive = false;
  std::uint64_t width = 0, height = 0;
  int h_max = 0, v_max = 0;
  std::vector<FrameComponent> frame;  // empty until a well-formed SOF
  Bytes in{bytes, start + 1};
  // Called where the walk ends (EOI or the end of the bytes): a component whose DC no scan coded.
  auto check_every_dc_coded = [&] {
    for (const FrameComponent& c : frame) {
      if (!c.dc_coded) {
        throw FormatError(fmt::format("{}: truncated JPEG: no scan before byte {} codes the DC coefficients of "
                                      "component {} ({}x{} pixels declared)",
                                      label, in.pos, c.id, width, height));
      }
    }
  };
  while (!in.at_end()) {
    if (in.data[in.pos] != 0xFF) {  // garbage between segments: stb refuses or skips it, so do we
      ++in.pos;
      continue;
    }
    while (!in.at_end() && in.data[in.pos] == 0xFF) ++in.pos;  // fill bytes
    if (in.at_end()) break;
    const std::size_t marker_at = in.pos - 1;
    const std::uint8_t marker = in.get8();
    if (marker == kEOI) break;
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
      in.get8();  // sample precision
      height = static_cast<std::uint64_t>(in.get16());
      width = static_cast<std::uint64_t>(in.get16());
      const int count = in.get8();
      frame.clear();
      h_max = v_max = 0;
      for (int c = 0; c < count; ++c) {
        FrameComponent fc;
        fc.id = in.get8();
        const std::uint8_t hv = in.get8();
        fc.h = hv >> 4;
        fc.v = hv & 15;
        in.get8();  // quantisation table
        frame.push_back(fc);
        h_max = std::max(h_max, fc.h);
        v_max = std::max(v_max, fc.v);
      }
      // What stb refuses itself (no pixels, sampling factors outside 1..4, a cut segment) is left
      // to its message.
      const bool well_formed =
          width > 0 && height > 0 && count > 0 && in.pos <= in.data.size() &&
          std::all_of(frame.begin(), frame.end(), [](const FrameComponent& c) { return c.h >= 1 && c.h <= 4 && c.v >= 1 && c.v <= 4; });
      if (!well_formed) return;
    } else if (marker == kSOS) {
      const int components = in.get8();
      std::array<std::array<int, 2>, 4> tables{};  // per component: DC id, AC id
      std::array<int, 4> component_ids{};
      for (int c = 0; c < components && c < 4; ++c) {
        component_ids[c] = in.get8();
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
      const std::size_t data_at = in.pos;
      const std::size_t data_bytes = skip_entropy_coded_data(in);
      // Scans coding DC: baseline ones, and progressive ones of spectral start 0 (first or
      // refinement). Frame components this scan names, as stb matches them by id.
      if (frame.empty() || (progressive && spectral_start != 0)) continue;
      std::uint64_t blocks = 0;
      for (int c = 0; c < components && c < 4; ++c) {
        auto it = std::find_if(frame.begin(), frame.end(),
                               [&](const FrameComponent& fc) { return fc.id == component_ids[c]; });
        if (it == frame.end()) return;  // stb: "bad SOS component id"
        blocks += component_blocks(width, height, *it, h_max, v_max);
        it->dc_coded = true;
      }
      if (data_bytes * 8 < blocks) {
        throw FormatError(fmt::format("{}: truncated JPEG: the scan at byte {} codes the DC coefficients of {} 8x8 "
                                      "blocks ({}x{} pixels declared), at least a bit each, in {} bytes of data "
                                      "(from byte {})",
                                      label, marker_at, blocks, width, height, data_bytes, data_at));
      }
      continue;
    }
    in.pos = segment_end;
  }
  check_every_dc_coded();
}

// The PNM half: stb reads P5 and P6 headers (width, height, maximum value, in ASCII with
// whitespace and # comments between) and nothing else of the family. It also ignores a short
// read of the pixels that follow, handing back uninitialised memory as the missing ones.
void check_pnm(std::span<const std::uint8_t> bytes, const std::string& label) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return;
  std::size_t pos = 2;
  auto is_space = [](std::uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  std::int64_t numbers[3] = {};
  int field_index = 0;
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
    numbers[field_index++] = value;
  }
  // 16-bit samples (a maximum above 255): stb 2.27 reads them in the wrong byte order (each pixel
  // becomes its sample's low byte) and turns a grey one into RGB as if 8-bit, reading twice its
  // buffer (ASan: heap overflow, found by the image fuzz target).
  if (numbers[2] > 255) {
    throw FormatError(fmt::format("{}: a 16-bit PNM (maximum value {}) is not read: Debian's stb_image 2.27 decodes "
                                  "its samples wrongly; convert it to 8 bits or to PNG",
                                  label, numbers[2]));
  }
  // stb reads one character past the maximum value, then width x height x channels bytes.
  const std::size_t data_at = pos + 1;
  const std::uint64_t channels = bytes[1] == '6' ? 3 : 1, sample_bytes = 1;
  std::uint64_t needed = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(numbers[0]), static_cast<std::uint64_t>(numbers[1]), &needed) ||
      __builtin_mul_overflow(needed, channels * sample_bytes, &needed))
    needed = UINT64_MAX;
  const std::uint64_t have = bytes.size() > data_at ? bytes.size() - data_at : 0;
  if (needed > have) {
    throw FormatError(fmt::format("{}: truncated PNM: {}x{} pixels x {} channel(s) need {} bytes after the header; "
                                  "the file has {}",
                                  label, numbers[0], numbers[1], channels,
                                  needed == UINT64_MAX ? std::string("more than 2^64") : std::to_string(needed), have));
  }
}

// The Radiance HDR half: stb's run-length decoder reads a zero count past the end of the file
// (stbi__get8 gives 0 there) and makes no progress, forever. Walked here as stb walks it, each
// step consuming a byte, so this stops where the data does.
void check_hdr_run_lengths(std::span<const std::uint8_t> bytes, const std::string& label) {
  std::size_t pos = 0;
  // One header line as stbi__hdr_gettoken reads it (at most 1023 characters kept).
  auto line = [&] {
    std::string text;
    while (pos < bytes.size()) {
      const char c = static_cast<char>(bytes[pos++]);
      if (c == '\n') break;
      if (text.size() < 1023) text += c;
    }
    return text;
  };
  const std::string magic = line();
  if (magic != "#?RADIANCE" && magic != "#?RGBE") return;
  bool rle_format = false;
  for (std::string token = line(); !token.empty(); token = line())
    if (token == "FORMAT=32-bit_rle_rgbe") rle_format = true;
  if (!rle_format) return;  // stb refuses it
  // "-Y <height> +X <width>", parsed as stb parses it (strtol, truncated to int).
  const std::string size = line();
  if (size.compare(0, 3, "-Y ") != 0) return;  // stb refuses it
  char* end = nullptr;
  const int height = static_cast<int>(std::strtol(size.c_str() + 3, &end, 10));
  while (*end == ' ') ++end;
  if (std::strncmp(end, "+X ", 3) != 0) return;  // stb refuses it
  const int width = static_cast<int>(std::strtol(end + 3, nullptr, 10));
  // stb reads widths under 8 or from 32768 up as flat pixels (no runs), and refuses sizes over 2^24.
  if (width < 8 || width >= 32768 || height <= 0 || height > (1 << 24)) return;
  for (int row = 0; row < height; ++row) {
    if (pos + 4 > bytes.size()) return;  // stb reads zeros: not a run-length scanline, a flat pixel
    if (bytes[pos] != 2 || bytes[pos + 1] != 2 || (bytes[pos + 2] & 0x80)) return;  // flat data from here
    if (((bytes[pos + 2] << 8) | bytes[pos + 3]) != width) return;                  // stb refuses it
    pos += 4;
    for (int component = 0; component < 4; ++component) {
      for (int filled = 0; filled < width;) {
        if (pos >= bytes.size()) {
          throw FormatError(fmt::format("{}: truncated HDR: the run-length data of row {} of {} ends with the file "
                                        "(byte {}), {} of its {} pixels short",
                                        label, row, height, bytes.size(), width - filled, width));
        }
        int count = bytes[pos++];
        if (count > 128) {
          count -= 128;
          ++pos;  // the run's value
        } else {
          pos += static_cast<std::size_t>(count);
        }
        if (count > width - filled) return;  // stb refuses it
        filled += count;
      }
    }
  }
}

// The PNG half: stb grows its buffer to an IDAT chunk's declared length before reading the
// chunk, so 129 bytes declaring a 1.1 GB chunk made it allocate 2 GiB (then fail: the data is not
// there). A chunk that claims more bytes than the file has left is refused first.
void check_png_chunk_lengths(std::span<const std::uint8_t> bytes, const std::string& label) {
  static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || !std::equal(kSignature, kSignature + 8, bytes.begin())) return;
  for (std::size_t pos = 8; pos + 8 <= bytes.size();) {
    const std::uint64_t length = (std::uint64_t{bytes[pos]} << 24) | (bytes[pos + 1] << 16) |
                                 (bytes[pos + 2] << 8) | bytes[pos + 3];
    const std::string type(reinterpret_cast<const char*>(bytes.data() + pos + 4), 4);
    const std::uint64_t left = bytes.size() - (pos + 8);
    if (type == "IDAT" && length > left) {
      throw FormatError(fmt::format("{}: truncated PNG: the IDAT chunk at byte {} declares {} bytes; the file has {} "
                                    "left",
                                    label, pos, length, left));
    }
    if (type == "IEND") return;  // stb reads no further
    pos += 12 + static_cast<std::size_t>(length);
  }
}

// The TGA half. TGA has no magic: stb takes a file as TGA when its header passes the checks below
// (stbi__tga_test, tried after every other format, none of whose magics has a second byte of 0
// or 1). stb then reads missing pixel data as zeros: 39 bytes declaring 57599x216 pixels decoded
// into a 12-megapixel black picture (over 10 s under ASan: the fuzzer's timeout). Refused when the
// file cannot hold the pixels: width x height x bytes per pixel, or for run-length data at least
// one packet (a count byte and a pixel) per 128 pixels.
void check_tga_length(std::span<const std::uint8_t> bytes, const std::string& label) {
  if (bytes.size() < 18) return;
  auto le16 = [&](std::size_t at) { return bytes[at] | (bytes[at + 1] << 8); };
  const int id_length = bytes[0], colour_map = bytes[1], type = bytes[2];
  if (colour_map > 1) return;
  if (colour_map == 1) {
    if (type != 1 && type != 9) return;
    const int entry_bits = bytes[7];
    if (entry_bits != 8 && entry_bits != 15 && entry_bits != 16 && entry_bits != 24 && entry_bits != 32) return;
  } else if (type != 2 && type != 3 && type != 10 && type != 11) {
    return;
  }
  const std::uint64_t width = le16(12), height = le16(14);
  const int bits = bytes[16];
  if (width < 1 || height < 1) return;
  if (colour_map == 1 ? bits != 8 && bits != 16 : bits != 8 && bits != 15 && bits != 16 && bits != 24 && bits != 32)
    return;
  const std::uint64_t pixel_bytes = (static_cast<std::uint64_t>(bits) + 7) / 8, pixels = width * height;
  const bool run_length = type >= 9;
  const std::uint64_t needed = run_length ? (pixels + 127) / 128 * (1 + pixel_bytes) : pixels * pixel_bytes;
  const std::uint64_t header = 18 + static_cast<std::uint64_t>(id_length);
  const std::uint64_t have = bytes.size() > header ? bytes.size() - header : 0;
  if (needed > have) {
    throw FormatError(fmt::format("{}: truncated TGA: {}x{} pixels of {} byte(s){} need at least {} bytes after the "
                                  "header; the file has {}",
                                  label, width, height, pixel_bytes, run_length ? ", run-length coded," : "", needed,
                                  have));
  }
}

}  // namespace

void check_before_stb(std::span<const std::uint8_t> bytes, const std::string& label) {
  check_jpeg_huffman_tables(bytes, label);
  check_pnm(bytes, label);
  check_hdr_run_lengths(bytes, label);
  check_png_chunk_lengths(bytes, label);
  check_tga_length(bytes, label);
}

}  // namespace fusescope::io
