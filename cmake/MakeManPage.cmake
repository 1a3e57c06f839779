# Writes fusescope.1 with help2man (run at build time, after the program is linked):
#   -DFUSESCOPE=<binary> -DHELP2MAN=<help2man> -DOUTPUT=<fusescope.1>
# help2man turns `fusescope --help` and `--version` into the page; each subcommand's own --help
# goes into a SUBCOMMANDS section through help2man's --include, so the page documents every flag
# and stays as current as the help text it is made from.
execute_process(COMMAND ${FUSESCOPE} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUSESCOPE} --help failed (exit ${rc})")
endif()
string(REGEX MATCH "Subcommands:\n.*" subcommand_block "${help}")
string(REGEX MATCHALL "\n  [a-z]+" names "${subcommand_block}")
if(NOT names)
  message(FATAL_ERROR "no subcommands found in `fusescope --help`:\n${help}")
endif()

set(include_text "[SUBCOMMANDS]\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  execute_process(COMMAND ${FUSESCOPE} ${name} --help OUTPUT_VARIABLE sub RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${FUSESCOPE} ${name} --help failed (exit ${rc})")
  endif()
  # roff: a backslash is an escape, and a line starting with . or ' a request.
  string(REPLACE "\\" "\\e" sub "${sub}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" sub "${sub}")
  string(APPEND include_text ".SS ${name}\n.nf\n${sub}\n.fi\n")
endforeach()
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
file(WRITE "${OUTPUT}.include" "${include_text}")
# --locale C.UTF-8: the help text is UTF-8 (an em dash in the description); help2man's default
# C locale writes each such character as "???".
execute_process(COMMAND ${HELP2MAN} --no-info --locale C.UTF-8 --name "conv/BatchNorm fusion, made visible, on any Vulkan device"
                        --include "${OUTPUT}.include" --output "${OUTPUT}" ${FUSESCOPE}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (exit ${rc}): ${err}")
endif()
