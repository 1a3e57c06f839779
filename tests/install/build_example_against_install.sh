#!/usr/bin/env bash
# The installed package, proven rather than assumed: `cmake --install` the build into a fresh
# prefix, then configure and build examples/ against that prefix only (the build tree is not on
# any search path, and the package registry is off), run the example, and compile one file that
# includes every installed header (a public header including one that was not installed fails
# here). Also checks the installed executable, man page (when help2man was found) and bash
# completion.
#   build_example_against_install.sh BUILD_DIR SOURCE_DIR MAN_PAGE_EXPECTED(ON|OFF)
# Exit 77 (SKIPPED) only when a tool the check needs is missing.
set -euo pipefail
build=$1 src=$2 man_expected=$3
for tool in cmake c++; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool not found"; exit 77; }
done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"

fail() { echo "FAILED: $*" >&2; exit 1; }
[ -x "$prefix/bin/fusescope" ] || fail "no bin/fusescope"
"$prefix/bin/fusescope" --version | grep -q '^fusescope ' || fail "the installed fusescope --version"
[ -f "$prefix/lib/libfusescope_core.a" ] || ls "$prefix"/lib*/libfusescope_core.a >/dev/null || fail "no libfusescope_core.a"
[ -f "$prefix/share/bash-completion/completions/fusescope" ] || fail "no bash completion installed"
if [ "$man_expected" = ON ]; then
  grep -q '^\.SS run' "$prefix/share/man/man1/fusescope.1" || fail "man page missing or without the subcommands"
fi
# Private headers stay private.
[ ! -e "$prefix/include/fusescope/cli" ] && [ ! -e "$prefix/include/fusescope/app" ] \
  || fail "the CLI's or the window's headers were installed"

cmake -S "$src/examples" -B "$tmp/example" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/configure.log" \
  || { cat "$tmp/configure.log"; fail "configuring examples/ against $prefix"; }
found=$(sed -n 's/^fusescope_DIR:PATH=//p' "$tmp/example/CMakeCache.txt")
case "$found" in
  "$prefix"/*) ;;
  *) fail "find_package(fusescope) found '$found', not the installed tree under $prefix" ;;
esac
cmake --build "$tmp/example" || fail "building examples/ against the installed package"
"$tmp/example/fuse_and_compare" conv_bn_layer || fail "the example (exit $?)"

# Every installed header in one translation unit, against the installed include path only.
mkdir -p "$tmp/headers"
(cd "$prefix/include/fusescope" && find . -name '*.hpp' | sort | sed 's|^\./\(.*\)|#include "\1"|') >"$tmp/headers/all.cpp"
echo 'int main() { return 0; }' >>"$tmp/headers/all.cpp"
cat >"$tmp/headers/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(all_headers LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(fusescope REQUIRED)
add_executable(all_headers all.cpp)
target_link_libraries(all_headers PRIVATE fusescope::core)
CMAKE
cmake -S "$tmp/headers" -B "$tmp/headers/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null || fail "configuring the all-headers check"
cmake --build "$tmp/headers/build" || fail "an installed header does not compile against the installed tree"
echo "installed tree: $(find "$prefix/include/fusescope" -name '*.hpp' | wc -l) headers; example built and run"
