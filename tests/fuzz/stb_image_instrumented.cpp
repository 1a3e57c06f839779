// Fuzz build only (tests/fuzz/CMakeLists.txt): stb_image's implementation compiled from Debian's
// own header (libstb-dev, not a vendored copy) with libFuzzer's coverage and ASan, linked into the
// image target, whose definitions take the place of the uninstrumented ones in libstb.so. Without
// it the fuzzer sees only fusescope's few edges around the decoder and cannot steer into PNG,
// JPEG or GIF paths, and a heap overflow inside stb would go unseen.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
