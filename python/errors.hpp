// fusescope's C++ exceptions as Python exceptions, with the text the CLI prints after
// "fusescope: invalid input: " / "fusescope: error: ":
//   fusescope.InvalidInput (a ValueError)   ops::InvalidArgument, io::FormatError, any other
//                                           std::invalid_argument: a bad file, shape, name or
//                                           keyword (the CLI's exit 2)
//   fusescope.DeviceError (a RuntimeError)  the device failed or cannot do it: no Vulkan driver,
//                                           out of device memory, a driver limit, a pipeline
//                                           the driver could not create, any Vulkan error
//   fusescope.DeviceLost (a DeviceError)    the device was lost; the next call makes a new one
//   (DeviceError too: ValidationFailed below)
// Anything else keeps pybind11's mapping (std::runtime_error: RuntimeError, ...).
#pragma once
#include <pybind11/pybind11.h>

#include <stdexcept>

namespace fusescope::python {

// A run under the validation layer (fusescope.use_device(validation=True)) made it report
// messages: its results are not to be trusted, as the CLI's --validation says.
class ValidationFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void register_errors(pybind11::module_& m);

}  // namespace fusescope::python
