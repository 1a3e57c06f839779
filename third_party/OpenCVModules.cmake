# OpenCV for the frame sources (third_party/README.md): the `fusescope_opencv` target (core, videoio, imgcodecs).
# With OpenCV's own CMake package installed (Debian's libopencv-dev) it is found there:
#   find_package(OpenCV REQUIRED COMPONENTS core videoio imgcodecs)
# That package, though, depends on every OpenCV module's -dev package (95 Debian packages with
# VTK and friends); the three we use come from libopencv-videoio-dev and libopencv-imgcodecs-dev,
# which ship headers and libraries but no CMake config. Without the config, the same three
# libraries are found directly.
find_package(OpenCV QUIET COMPONENTS core videoio imgcodecs)
add_library(fusescope_opencv INTERFACE)
if(OpenCV_FOUND)
  target_include_directories(fusescope_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(fusescope_opencv INTERFACE opencv_core opencv_videoio opencv_imgcodecs)
else()
  find_path(FUSESCOPE_OPENCV_INCLUDE opencv2/videoio.hpp PATH_SUFFIXES opencv4)
  find_library(FUSESCOPE_OPENCV_CORE opencv_core)
  find_library(FUSESCOPE_OPENCV_VIDEOIO opencv_videoio)
  find_library(FUSESCOPE_OPENCV_IMGCODECS opencv_imgcodecs)
  if(NOT FUSESCOPE_OPENCV_INCLUDE OR NOT FUSESCOPE_OPENCV_CORE OR NOT FUSESCOPE_OPENCV_VIDEOIO
     OR NOT FUSESCOPE_OPENCV_IMGCODECS)
    message(FATAL_ERROR "OpenCV core/videoio/imgcodecs not found: install libopencv-videoio-dev and "
                        "libopencv-imgcodecs-dev (scripts/install-deps.sh)")
  endif()
  target_include_directories(fusescope_opencv SYSTEM INTERFACE ${FUSESCOPE_OPENCV_INCLUDE})
  target_link_libraries(fusescope_opencv INTERFACE ${FUSESCOPE_OPENCV_CORE} ${FUSESCOPE_OPENCV_VIDEOIO}
                        ${FUSESCOPE_OPENCV_IMGCODECS})
endif()
