// The inputs Debian's stb_image (2.27, what fusescope links) mishandles instead of refusing,
// checked before stb sees the bytes. stb 2.28 fixes most of them; Debian 12 ships 2.27. The HDR
// one was found by reading stb's fixes, the others by the image fuzz target:
//  - a JPEG DHT segment whose 16 code counts add up to more than 256: stb writes that many code
//    lengths and symbols into its 257- and 256-entry tables, up to ~4 KiB past them inside its
//    decoder state (the pointers to its component buffers among what it overwrites);
//  - a JPEG scan that reads a Huffman table no DHT segment defined: stb's tables are malloc'd and
//    never cleared, so it decodes through uninitialised memory and indexes its symbol table with
//    it (134 MB out of bounds in the fuzzer's case);
//  - a PNM (P5/P6) header number beyond int: stb's digit loop overflows a signed int (undefined
//    behaviour) and goes on with whatever size that makes;
//  - a PNM whose pixel data is shorter than its header says: stb ignores the short read and
//    hands back uninitialised memory as pixels;
//  - a 16-bit PNM (maximum value above 255): stb reads the samples in the wrong byte order, and
//    turning a grey one into RGB it reads twice the buffer it made (ASan: heap overflow);
//  - a Radiance HDR file whose run-length data ends early: stb reads zero counts past the end and
//    loops forever (50 bytes hang `fusescope run`; CVE-2021-42715);
//  - a PNG IDAT chunk declaring more bytes than the file holds: stb allocates the declared size
//    (up to 4 GiB) before it finds the data missing;
//  - a TGA too short for the pixels its header declares: stb reads the missing ones as zeros (39
//    bytes made a 57599x216 black picture).
//  - a JPEG whose coded data is shorter than a bit per 8x8 block of each component's DC
//    coefficients (or with no scan coding some component's DC): stb decodes zeros in place of the
//    missing data over the declared size (236 bytes declaring 51.6 megapixels: 14 s under ASan).
// No encoder writes the broken ones, stb fails on a truncated PNG anyway and reads a 16-bit PNM
// wrongly (0x1234 becomes 0x34, checked), so refusing costs no picture stb decodes right: every
// JPEG and PNG opencv-doc and scikit-image install that stb decodes passes; the one refused,
// scikit-image's truncated.jpg, stb refuses too (tests/test_stb_guard.cpp).
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace fusescope::io {

// Throws FormatError naming `label`, where in the file, and the table or field, when `bytes` hold
// one of the structures above. Anything else malformed (a truncated segment, an unknown marker) is
// left to stb, whose own checks refuse it with their reason. Other formats pass untouched.
void check_before_stb(std::span<const std::uint8_t> bytes, const std::string& label);

}  // namespace fusescope::io
