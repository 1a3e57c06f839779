// What a fuzz target may see fail: the two exceptions fusescope turns into "invalid input" and
// exit 2 (src/cli/main.cpp). Anything else escaping a parser — std::bad_alloc, std::out_of_range,
// a library's own exception type, a crash — is a defect the fuzzer reports, because a user would
// see "error: std::bad_alloc" (exit 1) or a core dump for a bad file.
#pragma once
#include "io/safetensors.hpp"  // io::FormatError
#include "ops/shape.hpp"       // ops::InvalidArgument

namespace fusescope::fuzz {

template <class Parse>
int reject_bad_input(Parse&& parse) {
  try {
    parse();
  } catch (const io::FormatError&) {
  } catch (const ops::InvalidArgument&) {
  }
  return 0;  // libFuzzer: 0 keeps the input in the corpus if it found new coverage
}

}  // namespace fusescope::fuzz
