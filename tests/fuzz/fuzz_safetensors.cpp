// libFuzzer target: bytes as a .safetensors file (io::read_safetensors: header length, JSON
// header, dtypes, shapes, byte ranges, conversion to float), as `--input x.safetensors` reads it.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "bad_input.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fusescope;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size), std::ios::binary);
  return fuzz::reject_bad_input([&] { io::read_safetensors(in, size, "fuzz.safetensors"); });
}
