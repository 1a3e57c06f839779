# `cmake --install build --prefix P`: the fusescope executable, the core library (static), its
# public headers, a CMake package (find_package(fusescope) + fusescope::core), the man page (when
# help2man was found), the bash completion, the third-party licence notices (share/doc/fusescope)
# and, when built, the Python module. tests/install/build_example_against_install.sh proves the
# package from an installed tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The public C++ API: what a program that loads, fuses, runs and compares networks includes.
#   gpu/device.hpp, gpu/error.hpp      pick a Vulkan device; the errors it throws
#   graph/graph.hpp, executor.hpp,     the IR, running it on a device (taps, timings), the
#   graph/oracle_runner.hpp,           float64 oracle, progress callbacks
#   graph/progress.hpp
#   fusion/passes.hpp, fold_batchnorm.hpp, fusion_report.hpp, at_risk.hpp
#                                      the passes, the folding math, what they did, fp16 risks
#   io/onnx_import.hpp, onnx_export.hpp, safetensors.hpp, image.hpp
#   numerics/error_metrics.hpp, tensor_comparison.hpp
#   models/zoo.hpp                     the seeded zoo
#   workbench/model_source.hpp, candidate.hpp, study.hpp
#                                      model + input + candidate -> the per-layer study the CLI,
#                                      the window and the example print
# Everything else stays private (not installed): the window (app/), the CLI, the kernels' encoders
# (ops/*_gpu.hpp), the reference implementations, the recorder and pipeline cache, the ONNX
# importer's internals, vision/. Some private headers are nevertheless installed below, as
# FUSESCOPE_SUPPORT_HEADERS, because a public header includes them (executor.hpp needs the ops'
# parameter structs and gpu::Buffer): they compile, but they are not an API anyone should rely on.
set(FUSESCOPE_PUBLIC_HEADERS
  gpu/device.hpp gpu/error.hpp
  graph/graph.hpp graph/executor.hpp graph/oracle_runner.hpp graph/progress.hpp
  fusion/passes.hpp fusion/fold_batchnorm.hpp fusion/fusion_report.hpp fusion/at_risk.hpp
  io/onnx_import.hpp io/onnx_export.hpp io/safetensors.hpp io/image.hpp
  numerics/error_metrics.hpp numerics/tensor_comparison.hpp
  models/zoo.hpp
  workbench/model_source.hpp workbench/candidate.hpp workbench/study.hpp)
# What the public headers include (g++ -MM over the list above); the install test compiles every
# installed header on its own, so a header missing here fails it.
set(FUSESCOPE_SUPPORT_HEADERS
  gpu/buffer.hpp gpu/kernel.hpp
  graph/memory_plan.hpp
  ops/activation.hpp ops/concat.hpp ops/conv2d.hpp ops/conv_transpose.hpp ops/elementwise.hpp
  ops/encoder.hpp ops/gemm.hpp ops/layer_norm.hpp ops/pad.hpp ops/pool2d.hpp ops/reduce_mean.hpp
  ops/resize.hpp ops/shape.hpp ops/softmax.hpp ops/tensor.hpp ops/transpose.hpp
  reference/host_tensor.hpp)
foreach(header IN LISTS FUSESCOPE_PUBLIC_HEADERS FUSESCOPE_SUPPORT_HEADERS)
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${CMAKE_SOURCE_DIR}/src/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fusescope/${dir})
endforeach()

install(TARGETS fusescope RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# fusescope_opencv (third_party/OpenCVModules.cmake) and fusescope_shaderc (third_party/Shaderc.cmake)
# go along: the static core links them privately, so a consumer's link line needs the libraries
# they name.
install(TARGETS fusescope_core fusescope_opencv fusescope_shaderc EXPORT fusescope-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# A sanitizer build's static core carries ASan/UBSan references: a consumer must link the same
# runtimes, so the exported target asks for them (an uninstrumented build exports nothing extra).
if(FUSESCOPE_SANITIZE OR FUSESCOPE_FUZZ)
  target_link_options(fusescope_core INTERFACE -fsanitize=address,undefined)
endif()
set(FUSESCOPE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fusescope)
install(EXPORT fusescope-targets NAMESPACE fusescope:: DESTINATION ${FUSESCOPE_CMAKE_DIR})
# fusescope::core, not fusescope::fusescope_core: the name the issue and the README promise.
set_target_properties(fusescope_core PROPERTIES EXPORT_NAME core)
set_target_properties(fusescope_opencv PROPERTIES EXPORT_NAME opencv)
set_target_properties(fusescope_shaderc PROPERTIES EXPORT_NAME shaderc)
if(OpenCV_FOUND)
  set(FUSESCOPE_OPENCV_PACKAGE ON)
else()
  set(FUSESCOPE_OPENCV_PACKAGE OFF)
endif()
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/fusescope-config.cmake.in
  ${CMAKE_BINARY_DIR}/fusescope-config.cmake INSTALL_DESTINATION ${FUSESCOPE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/fusescope-config-version.cmake
  COMPATIBILITY SameMinorVersion)  # 0.x: a minor release may change the API
install(FILES ${CMAKE_BINARY_DIR}/fusescope-config.cmake ${CMAKE_BINARY_DIR}/fusescope-config-version.cmake
        DESTINATION ${FUSESCOPE_CMAKE_DIR})

# Bash completion, generated from the program's own command line (tools/make_bash_completion.cpp).
add_executable(fusescope_make_bash_completion tools/make_bash_completion.cpp)
target_link_libraries(fusescope_make_bash_completion PRIVATE fusescope_cli)
set(FUSESCOPE_BASH_COMPLETION ${CMAKE_BINARY_DIR}/completions/fusescope)
add_custom_command(OUTPUT ${FUSESCOPE_BASH_COMPLETION}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/completions
  COMMAND fusescope_make_bash_completion > ${FUSESCOPE_BASH_COMPLETION}
  DEPENDS fusescope_make_bash_completion
  COMMENT "bash completion for fusescope")
add_custom_target(fusescope_bash_completion ALL DEPENDS ${FUSESCOPE_BASH_COMPLETION})
install(FILES ${FUSESCOPE_BASH_COMPLETION} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# The man page, from `fusescope --help`, `--version` and every subcommand's --help (Debian's
# help2man). Without help2man the build says so once and installs no page.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(FUSESCOPE_MAN_PAGE ${CMAKE_BINARY_DIR}/man/fusescope.1)
  add_custom_command(OUTPUT ${FUSESCOPE_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -DFUSESCOPE=$<TARGET_FILE:fusescope> -DHELP2MAN=${HELP2MAN}
            -DOUTPUT=${FUSESCOPE_MAN_PAGE} -P ${CMAKE_SOURCE_DIR}/cmake/MakeManPage.cmake
    DEPENDS fusescope ${CMAKE_SOURCE_DIR}/cmake/MakeManPage.cmake
    COMMENT "man page fusescope.1 (help2man)")
  add_custom_target(fusescope_man_page ALL DEPENDS ${FUSESCOPE_MAN_PAGE})
  install(FILES ${FUSESCOPE_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man page (scripts/install-deps.sh installs it)")
endif()

# The licence notices of what the installed files include or link, written from the dependency
# list (third_party/README.md, its rows marked "linked" or "compiled in") by
# third_party/LicenceNotices.cmake: a dependency added to the list is in the notices.
set(FUSESCOPE_NOTICES ${CMAKE_BINARY_DIR}/THIRD-PARTY-NOTICES.txt)
add_custom_command(OUTPUT ${FUSESCOPE_NOTICES}
  COMMAND ${CMAKE_COMMAND} -DLIST=${CMAKE_SOURCE_DIR}/third_party/README.md -DOUTPUT=${FUSESCOPE_NOTICES}
          -P ${CMAKE_SOURCE_DIR}/third_party/LicenceNotices.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/third_party/README.md ${CMAKE_SOURCE_DIR}/third_party/LicenceNotices.cmake
  COMMENT "third-party licence notices (third_party/README.md)")
add_custom_target(fusescope_licence_notices ALL DEPENDS ${FUSESCOPE_NOTICES})
install(FILES ${FUSESCOPE_NOTICES} ${CMAKE_SOURCE_DIR}/third_party/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Python module (python/), where Debian's python3 looks for modules under a /usr prefix.
if(TARGET fusescope_python)
  set(FUSESCOPE_PYTHON_INSTALL_DIR lib/python3/dist-packages CACHE STRING
      "Where `cmake --install` puts the Python module, relative to the prefix")
  install(TARGETS fusescope_python LIBRARY DESTINATION ${FUSESCOPE_PYTHON_INSTALL_DIR})
endif()
