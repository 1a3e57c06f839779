// libFuzzer target: bytes as a detector decoder config (vision::parse_decoder_config: the JSON
// `fusescope detect --decoder` reads), including the derived counts the decoder relies on.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bad_input.hpp"
#include "vision/decoder_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fusescope;
  const std::string text(reinterpret_cast<const char*>(data), size);
  return fuzz::reject_bad_input([&] {
    const vision::DecoderConfig c = vision::parse_decoder_config(text, "fuzz.json");
    (void)c.values_per_prediction();
    for (std::size_t o = 0; o < c.outputs.size(); ++o)
      for (std::size_t s = 0; s < c.outputs[o].strides.size(); ++s) (void)c.anchors_per_cell(o, s);
  });
}
