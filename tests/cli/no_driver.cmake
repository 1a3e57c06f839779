# `fusescope devices` with no Vulkan driver visible must print one clear line naming the package
# to install and exit non-zero. The loader reads VK_DRIVER_FILES (and the older
# VK_ICD_FILENAMES); pointing both at a missing file hides every installed driver.
set(ENV{VK_DRIVER_FILES} "/nonexistent/fusescope-test-icd.json")
set(ENV{VK_ICD_FILENAMES} "/nonexistent/fusescope-test-icd.json")
execute_process(COMMAND ${FUSESCOPE} devices
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a non-zero exit without a driver, got 0; output: ${out}${err}")
endif()
if(NOT err MATCHES "no Vulkan driver found" OR NOT err MATCHES "mesa-vulkan-drivers")
  message(FATAL_ERROR "expected a message naming mesa-vulkan-drivers, got: ${err}")
endif()
message(STATUS "exit ${rc}: ${err}")
