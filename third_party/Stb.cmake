# stb (Debian's libstb-dev, third_party/README.md): stb_image and stb_image_write compiled into
# libstb.so, found through its pkg-config file (no CMake config). Defines PkgConfig::STB.
find_package(PkgConfig REQUIRED)
pkg_check_modules(STB REQUIRED IMPORTED_TARGET stb)
