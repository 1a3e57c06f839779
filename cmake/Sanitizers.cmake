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
  # What an instrumented Python module loaded into Debian's uninstrumented python3 needs preloaded
  # (tests/python/run_pytest.sh sets LD_PRELOAD to it): the ASan runtime, which must come first
  # in the process's library list, and libstdc++, without which ASan's __cxa_throw interceptor
  # finds no real __cxa_throw (python3 does not link libstdc++) and the first C++ exception
  # aborts the process. Empty when the compiler does not know the files (the Python tests then
  # say so and are SKIPPED).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(preload_names libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so libstdc++.so)
  else()
    set(preload_names libasan.so libstdc++.so)
  endif()
  set(preload_paths "")
  foreach(name IN LISTS preload_names)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${name}
                    OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT IS_ABSOLUTE "${path}" OR NOT EXISTS "${path}")
      set(preload_paths "")
      break()
    endif()
    list(APPEND preload_paths "${path}")
  endforeach()
  string(REPLACE ";" ":" FUSESCOPE_ASAN_PRELOAD "${preload_paths}")  # LD_PRELOAD's separator
endif()
if(FUSESCOPE_FUZZ)
  # Coverage feedback for every object; only the fuzz targets link libFuzzer's main
  # (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
