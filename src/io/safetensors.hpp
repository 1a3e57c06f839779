// The safetensors weight format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of UTF-8 JSON naming each tensor's dtype, shape and
// byte range, then the raw little-endian data. Ranges are relative to the start of the data.
#pragma once
#include <cstdint>
#include <filesystem>
#include <istream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::io {

// A file could not be read or written as its format demands. The message names the file and,
// where one is to blame, the tensor.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NamedTensor {
  std::string name;
  ops::Shape shape;
  std::vector<float> values;  // row-major, whatever dtype the file stores
};

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  // in the file's data order
  std::map<std::string, std::string> metadata;

  const NamedTensor* find(const std::string& name) const;  // nullptr when absent
};

// Reads F32, F16, BF16 and F64 (converted to float) and I64/I32 (converted, for labels; values
// beyond 2^24 lose precision). Zero-element tensors are accepted. Throws FormatError for a
// missing or malformed file: bad header length, invalid JSON, unknown dtype, bad shape or
// offsets, ranges outside the data or overlapping, sizes that disagree, duplicate names.
SafetensorsFile read_safetensors(const std::filesystem::path& path);

// The same from a stream that holds the whole file, `size` bytes from position 0 (the fuzz
// target reads from memory); `label` stands for the file in messages.
SafetensorsFile read_safetensors(std::istream& in, std::uint64_t size, const std::filesystem::path& label);

enum class WriteDtype { F32, F16 };

// Writes the tensors in the given order. The file appears whole or not at all: it is written
// under a temporary name next to `path`, then renamed. Throws FormatError before writing
// anything for duplicate or empty names, the reserved name "__metadata__", or a value count
// that does not match the shape; and for any I/O failure.
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {},
                       WriteDtype dtype = WriteDtype::F32);

}  // namespace fusescope::io
