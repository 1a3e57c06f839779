# The window's libraries (src/app), neither found through a CMake config of its own here
# (third_party/README.md): Debian's Dear ImGui 1.86 (libimgui-dev: libimgui.a with the GLFW
# platform backend; its Vulkan backend is not used, see src/app/imgui_renderer.hpp) ships only a
# pkg-config file, and GLFW (libglfw3-dev) is taken the same way for one rule.
# Defines PkgConfig::GLFW and PkgConfig::IMGUI.
find_package(PkgConfig REQUIRED)
pkg_check_modules(GLFW REQUIRED IMPORTED_TARGET glfw3)
pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
