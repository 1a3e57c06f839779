# cmake -DLIST=third_party/README.md -DOUTPUT=<file> -P third_party/LicenceNotices.cmake
# The licence notices of the installed package, from the dependency list: each table row of LIST
# whose last column starts with "linked" or "compiled in" (code that ends up in an installed
# file), with the row's version and licence and the package's Debian copyright file in full.
# Written to a temporary name and renamed, so OUTPUT is whole or absent. A row must not hold a
# ";" (CMake would split it as a list).
# The rows of the table headed "| package | version tested | ...", not the helpers' table above it.
file(STRINGS "${LIST}" lines ENCODING UTF-8)
set(rows "")
set(in_table FALSE)
foreach(line IN LISTS lines)
  if(line MATCHES "^\\| package \\| version tested \\|")
    set(in_table TRUE)
  elseif(in_table AND line MATCHES "^\\| `")
    list(APPEND rows "${line}")
  elseif(in_table AND NOT line MATCHES "^\\|")
    set(in_table FALSE)
  endif()
endforeach()
set(summary "")
set(texts "")
set(count 0)
foreach(row IN LISTS rows)
  # | `package` | version | licence | used by | found by | installed |
  string(REGEX MATCH "^\\| `([^`]+)`[^|]*\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|" matched "${row}")
  if(NOT matched)
    message(FATAL_ERROR "${LIST}: a dependency row without six columns: ${row}")
  endif()
  set(package "${CMAKE_MATCH_1}")
  string(STRIP "${CMAKE_MATCH_2}" version)
  string(STRIP "${CMAKE_MATCH_3}" licence)
  string(STRIP "${CMAKE_MATCH_4}" used_by)
  string(STRIP "${CMAKE_MATCH_6}" installed)
  if(NOT installed MATCHES "^(linked|compiled in)")
    continue()
  endif()
  math(EXPR count "${count} + 1")
  string(APPEND summary "  ${package} ${version}: ${licence} (${installed})\n")
  set(copyright "/usr/share/doc/${package}/copyright")
  string(APPEND texts "\n==============================================================================\n"
                      "${package} ${version} — ${licence}\n"
                      "used by fusescope for: ${used_by}\n"
                      "------------------------------------------------------------------------------\n")
  if(EXISTS "${copyright}")
    file(READ "${copyright}" text)
    string(APPEND texts "${text}")
  else()
    string(APPEND texts "(${copyright} is not on the machine that built this package; the licence is ${licence}.)\n")
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${LIST}: no row is linked or compiled in; is this the dependency list?")
endif()
file(WRITE "${OUTPUT}.tmp"
  "fusescope includes or links the following third-party software (third_party/README.md lists\n"
  "every dependency; these ${count} end up in installed files). Each notice below is the\n"
  "package's Debian copyright file, as installed on the build machine.\n\n${summary}${texts}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
