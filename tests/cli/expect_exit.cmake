# Runs one fusescope command and checks its exit code and output: the command line is a
# contract other tools rely on (0 ok, 1 failed check / runtime error, 2 usage or input error).
#   -DFUSESCOPE=<binary> -DARGS="a;b;c" -DEXPECT_EXIT=N [-DEXPECT_REGEX=re] [-DEXPECT_FILE=path]
#   [-DEXPECT_NO_FILE=path]: a failing write must leave neither the file nor a temporary beside it
separate_arguments(args UNIX_COMMAND "${ARGS}")
if(DEFINED EXPECT_FILE)
  file(REMOVE "${EXPECT_FILE}")
endif()
if(DEFINED EXPECT_NO_FILE)
  file(REMOVE "${EXPECT_NO_FILE}")
endif()
execute_process(COMMAND ${FUSESCOPE} ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL EXPECT_EXIT)
  message(FATAL_ERROR "fusescope ${ARGS}: exit ${rc}, expected ${EXPECT_EXIT}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT_REGEX AND NOT "${out}${err}" MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "fusescope ${ARGS}: output does not match '${EXPECT_REGEX}':\n${out}${err}")
endif()
if(DEFINED EXPECT_FILE AND NOT EXISTS "${EXPECT_FILE}")
  message(FATAL_ERROR "fusescope ${ARGS}: ${EXPECT_FILE} was not written")
endif()
if(DEFINED EXPECT_NO_FILE)
  file(GLOB leftovers "${EXPECT_NO_FILE}.tmp*")
  if(EXISTS "${EXPECT_NO_FILE}" OR leftovers)
    message(FATAL_ERROR "fusescope ${ARGS}: left ${EXPECT_NO_FILE} ${leftovers} behind")
  endif()
endif()
message(STATUS "exit ${rc} as expected")
