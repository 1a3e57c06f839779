# fusescope_shaderc: libshaderc for the shader sandbox's run-time GLSL compiler
# (src/gpu/glsl_compiler.cpp), as Debian 12 ships it (libshaderc-dev 2023.2, glslang-dev 12,
# spirv-tools 2023.1).
#
# Why not shaderc.pc's -lshaderc: Debian's libshaderc.so.1 leaves every glslang and SPIRV-Tools
# symbol undefined (glslc carries them itself), and linked against the static glslang it crashed
# in its first compile here. libshaderc_combined.a plus glslang-dev's and spirv-tools' static
# libraries links and runs, and is the very glslang/SPIRV-Tools glslc is built with (a test holds
# the run-time SPIR-V to the build's word for word). The order is the static link order: each
# library before the ones it uses.
add_library(fusescope_shaderc INTERFACE)
find_path(FUSESCOPE_SHADERC_INCLUDE shaderc/shaderc.hpp)
set(fusescope_shaderc_libs shaderc_combined SPIRV glslang MachineIndependent GenericCodeGen OGLCompiler OSDependent
    SPIRV-Tools-opt SPIRV-Tools glslang-default-resource-limits)
set(fusescope_shaderc_paths "")
foreach(lib IN LISTS fusescope_shaderc_libs)
  find_library(FUSESCOPE_LIB_${lib} NAMES lib${lib}.a)
  if(NOT FUSESCOPE_LIB_${lib} OR NOT FUSESCOPE_SHADERC_INCLUDE)
    message(FATAL_ERROR "lib${lib}.a not found: install libshaderc-dev, glslang-dev and spirv-tools "
                        "(scripts/install-deps.sh)")
  endif()
  list(APPEND fusescope_shaderc_paths ${FUSESCOPE_LIB_${lib}})
endforeach()
find_package(Threads REQUIRED)
target_include_directories(fusescope_shaderc SYSTEM INTERFACE ${FUSESCOPE_SHADERC_INCLUDE})
target_link_libraries(fusescope_shaderc INTERFACE ${fusescope_shaderc_paths} Threads::Threads)
