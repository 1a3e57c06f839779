# Two instrumented builds beside the plain one, each in its own build directory so the normal
# GCC build stays as it is:
#
#   FUSESCOPE_SANITIZE=ON  every target with AddressSanitizer (LeakSanitizer included) and
#                          UndefinedBehaviorSanitizer; scripts/test.sh --sanitize (build-sanitize)
#   FUSESCOPE_FUZZ=ON      the same sanitizers plus libFuzzer's coverage instrumentation, clang
#                          only; the targets under tests/fuzz link libFuzzer (scripts/fuzz.sh,
#                          build-fuzz)
#
# UB is fatal (-fno-sanitize-recover): a finding that only prints would let a test or a fuzz run
# pass over it. Frame pointers keep the reports' stacks whole at RelWithDebInfo's -O2.
option(FUSESCOPE_SANITIZE "Build everything with ASan + UBSan (+ LSan)" OFF)
option(FUSESCOPE_FUZZ "Build the libFuzzer targets in tests/fuzz (clang; implies ASan + UBSan)" OFF)

if(FUSESCOPE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "FUSESCOPE_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14 "
                      "(Debian's clang-14 and libclang-rt-14-dev; scripts/fuzz.sh does this)")
endif()

if(FUSESCOPE_SANITIZE OR FUSESCOPE_FUZZ)
  set(FUSESCOPE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                                -fno-omit-frame-pointer)
  add_compile_options(${FUSESCOPE_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
  # The ASan runtime as a shared library: an instrumented Python module loaded into Debian's
  # uninstrumented python3 needs it preloaded (ASan must come first in the process's library
  # list), so tests/python/run_pytest.sh sets LD_PRELOAD to it. Empty when the compiler does not
  # know the file (the Python tests then say so and are SKIPPED).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(asan_runtime_name libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
  else()
    set(asan_runtime_name libasan.so)
  endif()
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${asan_runtime_name}
                  OUTPUT_VARIABLE FUSESCOPE_ASAN_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT IS_ABSOLUTE "${FUSESCOPE_ASAN_RUNTIME}" OR NOT EXISTS "${FUSESCOPE_ASAN_RUNTIME}")
    set(FUSESCOPE_ASAN_RUNTIME "")
  endif()
endif()
if(FUSESCOPE_FUZZ)
  # Coverage feedback for every object; only the fuzz targets link libFuzzer's main
  # (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
