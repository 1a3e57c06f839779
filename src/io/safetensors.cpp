#include "io/safetensors.hpp"
#include "io/atomic_file.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "ops/half.hpp"

namespace fusescope::io {

namespace {

// ordered_json keeps the header's own order, which breaks ties between zero-byte tensors that
// share a data offset, so such tensors still come back in the order they were written.
using Json = nlohmann::ordered_json;

// The raw data is copied straight into host floats and integers.
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

// The reference implementation refuses headers above 100 MB; a larger length is a corrupt file,
// and believing it would mean allocating whatever the first 8 bytes say.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw FormatError(fmt::format("{}: {}", path.string(), what));
}

[[noreturn]] void fail_tensor(const std::filesystem::path& path, const std::string& name,
                              const std::string& what) {
  fail(path, fmt::format("tensor '{}': {}", name, what));
}

// Bytes per element, or 0 for a dtype we cannot read.
std::uint64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

struct Entry {
  std::string name;
  std::string dtype;
  ops::Shape shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// A non-negative JSON integer that fits int64 (nlohmann parses every non-negative integer as
// unsigned, so a signed one is negative).
bool as_count(const Json& j, std::uint64_t& out) {
  if (!j.is_number_unsigned()) return false;
  out = j.get<std::uint64_t>();
  return out <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

Entry parse_entry(const std::filesystem::path& path, const std::string& name, const Json& j,
                  std::uint64_t data_bytes) {
  if (!j.is_object())
    fail_tensor(path, name,
                fmt::format("header entry has type {}, expected an object", j.type_name()));
  Entry e;
  e.name = name;

  auto dtype = j.find("dtype");
  if (dtype == j.end() || !dtype->is_string()) fail_tensor(path, name, "missing string \"dtype\"");
  e.dtype = dtype->get<std::string>();
  const std::uint64_t element_bytes = dtype_bytes(e.dtype);
  if (element_bytes == 0) {
    fail_tensor(path, name,
                fmt::format("unsupported dtype '{}' (expected F32, F16, BF16, F64, "
                            "I64 or I32)",
                            e.dtype));
  }

  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array()) fail_tensor(path, name, "missing array \"shape\"");
  bool has_zero = false;
  for (const Json& d : *shape) {
    std::uint64_t dim = 0;
    if (!as_count(d, dim)) {
      const char* why = d.is_number_integer() && !d.is_number_unsigned() ? "negative"
                        : d.is_number_unsigned()                         ? "beyond int64"
                                                                         : "not an integer";
      fail_tensor(
          path, name,
          fmt::format("shape {} has a dimension {} that is {}", shape->dump(), d.dump(), why));
    }
    has_zero = has_zero || dim == 0;
    e.shape.push_back(static_cast<std::int64_t>(dim));
  }
  // Byte count with overflow checked; any zero dimension makes it 0 however large the others.
  std::uint64_t nbytes = 0;
  if (!has_zero) {
    nbytes = element_bytes;
    for (std::int64_t d : e.shape) {
      const auto dim = static_cast<std::uint64_t>(d);
      if (nbytes > std::numeric_limits<std::uint64_t>::max() / dim)
        fail_tensor(path, name,
                    fmt::format("shape {} is too large: its byte count overflows 64 bits",
                                ops::to_string(e.shape)));
      nbytes *= dim;
    }
  }

  auto offsets = j.find("data_offsets");
  if (offsets == j.end() || !offsets->is_array() || offsets->size() != 2 ||
      !as_count((*offsets)[0], e.begin) || !as_count((*offsets)[1], e.end)) {
    fail_tensor(path, name,
                fmt::format("\"data_offsets\" must be two non-negative integers, got {}",
                            offsets == j.end() ? "nothing" : offsets->dump()));
  }
  if (e.begin > e.end)
    fail_tensor(path, name, fmt::format("data_offsets [{}, {}] begin after end", e.begin, e.end));
  if (e.end > data_bytes) {
    fail_tensor(path, name,
                fmt::format("data_offsets [{}, {}] end beyond the data section of {} bytes",
                            e.begin, e.end, data_bytes));
  }
  if (e.end - e.begin != nbytes) {
    fail_tensor(
        path, name,
        fmt::format("data_offsets [{}, {}] hold {} bytes, but {} of shape {} needs {}", e.begin,
                    e.end, e.end - e.begin, e.dtype, ops::to_string(e.shape), nbytes));
  }
  return e;
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::vector<float> to_floats(const std::string& dtype, const std::vector<char>& raw) {
  const std::size_t n = raw.size() / dtype_bytes(dtype);
  std::vector<float> out(n);
  const char* p = raw.data();
  for (std::size_t i = 0; i < n; ++i) {
    if (dtype == "F32")
      out[i] = load<float>(p + 4 * i);
    else if (dtype == "F64")
      out[i] = static_cast<float>(load<double>(p + 8 * i));
    else if (dtype == "F16")
      out[i] = ops::half_to_float(load<std::uint16_t>(p + 2 * i));
    // bfloat16 is the top half of a float32.
    else if (dtype == "BF16")
      out[i] = std::bit_cast<float>(std::uint32_t{load<std::uint16_t>(p + 2 * i)} << 16);
    else if (dtype == "I64")
      out[i] = static_cast<float>(load<std::int64_t>(p + 8 * i));
    else
      out[i] = static_cast<float>(load<std::int32_t>(p + 4 * i));
  }
  return out;
}

}  // namespace

const NamedTensor* SafetensorsFile::find(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  std::error_code ec;
  const std::uint64_t file_bytes = std::filesystem::file_size(path, ec);
  if (ec) fail(path, fmt::format("cannot read safetensors file: {}", ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, fmt::format("cannot open safetensors file: {}", std::strerror(errno)));
  return read_safetensors(in, file_bytes, path);
}

SafetensorsFile read_safetensors(std::istream& in, std::uint64_t file_bytes, const std::filesystem::path& path) {
  if (file_bytes < 8)
    fail(path, fmt::format("{} bytes is too short for a safetensors file (8-byte header length)",
                           file_bytes));

  std::uint64_t header_bytes = 0;
  in.read(reinterpret_cast<char*>(&header_bytes), 8);
  if (header_bytes > kMaxHeaderBytes)
    fail(path, fmt::format("header length {} is absurd (limit {} bytes): not a safetensors file?",
                           header_bytes, kMaxHeaderBytes));
  if (header_bytes > file_bytes - 8) {
    fail(path, fmt::format("header length {} runs past the end of the {}-byte file", header_bytes,
                           file_bytes));
  }
  std::string text(header_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_bytes));
  if (!in) fail(path, "could not read the header");
  const std::uint64_t data_start = 8 + header_bytes;
  const std::uint64_t data_bytes = file_bytes - data_start;

  // JSON objects silently keep one of two equal keys, so duplicates are caught while parsing.
  std::string duplicate;
  std::set<std::string> seen;
  auto watch_keys = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 &&
        !seen.insert(parsed.get<std::string>()).second && duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(text, watch_keys);
  } catch (const Json::exception& e) {
    fail(path, fmt::format("header is not valid JSON: {}", e.what()));
  }
  if (!header.is_object())
    fail(path, fmt::format("header JSON has type {}, expected an object", header.type_name()));
  if (!duplicate.empty()) fail_tensor(path, duplicate, "name appears twice in the header");

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(path, "\"__metadata__\" is not an object");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string())
          fail(path, fmt::format("\"__metadata__\" entry '{}' is not a string", key));
        file.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value, data_bytes));
  }

  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Sorted by begin, a range overlaps an earlier one exactly when it starts before the furthest
  // end seen so far. Zero-byte ranges hold nothing and overlap nothing.
  const Entry* furthest = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (furthest && e.begin < furthest->end) {
      fail_tensor(path, e.name,
                  fmt::format("bytes [{}, {}) overlap tensor '{}' at [{}, {})", e.begin, e.end,
                              furthest->name, furthest->begin, furthest->end));
    }
    if (!furthest || e.end > furthest->end) furthest = &e;
  }

  for (const Entry& e : entries) {
    std::vector<char> raw(e.end - e.begin);
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
    if (!in) fail_tensor(path, e.name, "could not read its data");
    file.tensors.push_back({e.name, e.shape, to_floats(e.dtype, raw)});
  }
  return file;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata, WriteDtype dtype) {
  const std::uint64_t element_bytes = dtype == WriteDtype::F16 ? 2 : 4;
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      fail_tensor(path, t.name, "this name is reserved or empty");
    if (!names.insert(t.name).second) fail_tensor(path, t.name, "name given twice");
    std::uint64_t n = 1;
    for (std::int64_t d : t.shape) {
      if (d < 0)
        fail_tensor(path, t.name,
                    fmt::format("shape {} has a negative dimension", ops::to_string(t.shape)));
      // A product past values.size() is a mismatch whatever follows, barring a later 0: stop
      // just above it so the product cannot overflow.
      const auto dim = static_cast<std::uint64_t>(d);
      n = (dim == 0 || n <= t.values.size() / dim) ? n * dim : t.values.size() + 1;
    }
    if (n != t.values.size()) {
      fail_tensor(path, t.name,
                  fmt::format("shape {} does not match its {} values", ops::to_string(t.shape),
                              t.values.size()));
    }
    const std::uint64_t nbytes = n * element_bytes;
    header[t.name] = {{"dtype", dtype == WriteDtype::F16 ? "F16" : "F32"},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {  // names or metadata that are not UTF-8
    fail(path, fmt::format("cannot encode the header: {}", e.what()));
  }
  // Pad with spaces to a multiple of 8, as the reference implementation does, so the data
  // section starts aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  try {
    AtomicFileWriter out(path.string());
    const std::uint64_t header_bytes = text.size();
    out.write(&header_bytes, 8);
    out.write(text.data(), text.size());
    for (const NamedTensor& t : tensors) {
      if (dtype == WriteDtype::F16) {
        std::vector<std::uint16_t> half(t.values.size());
        std::transform(t.values.begin(), t.values.end(), half.begin(), ops::float_to_half);
        out.write(half.data(), half.size() * 2);
      } else {
        out.write(t.values.data(), t.values.size() * 4);
      }
    }
    out.commit();
  } catch (const std::runtime_error& e) {
    fail(path, e.what());
  }
}

}  // namespace fusescope::io
