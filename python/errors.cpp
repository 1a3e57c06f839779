#include "errors.hpp"

#include <fmt/format.h>

#include "gpu/error.hpp"
#include "io/safetensors.hpp"
#include "ops/shape.hpp"
#include "process_device.hpp"

namespace py = pybind11;

namespace fusescope::python {

namespace {

// The tags only name the Python classes; the translator below decides which C++ type raises which.
struct InvalidInputTag {};
struct DeviceErrorTag {};
struct DeviceLostTag {};

}  // namespace

void register_errors(py::module_& m) {
  // Static: the translator outlives this function (pybind11 2.10's documented pattern).
  static py::exception<InvalidInputTag> invalid_input(m, "InvalidInput", PyExc_ValueError);
  static py::exception<DeviceErrorTag> device_error(m, "DeviceError", PyExc_RuntimeError);
  static py::exception<DeviceLostTag> device_lost(m, "DeviceLost", device_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gpu::DeviceLost& e) {
      forget_device();  // only a new Device works again
      const std::string text =
          fmt::format("the GPU device was lost: {}; no results were returned. The next call makes a new "
                      "device; if it keeps happening, the driver or GPU is failing (fusescope.devices(), "
                      "fusescope.use_device(index))",
                      e.what());
      PyErr_SetString(device_lost.ptr(), text.c_str());
    } catch (const gpu::VulkanError& e) {
      PyErr_SetString(device_error.ptr(), e.what());
    } catch (const gpu::OutOfDeviceMemory& e) {
      PyErr_SetString(device_error.ptr(), e.what());
    } catch (const gpu::DeviceLimit& e) {
      PyErr_SetString(device_error.ptr(), e.what());
    } catch (const gpu::PipelineCreationFailed& e) {
      PyErr_SetString(device_error.ptr(), e.what());
    } catch (const gpu::NoVulkanDevice& e) {
      PyErr_SetString(device_error.ptr(), e.what());
    } catch (const ValidationFailed& e) {
      PyErr_SetString(device_error.ptr(), e.what());
    } catch (const io::FormatError& e) {
      PyErr_SetString(invalid_input.ptr(), e.what());
    } catch (const std::invalid_argument& e) {  // ops::InvalidArgument among them
      PyErr_SetString(invalid_input.ptr(), e.what());
    }
  });
}

}  // namespace fusescope::python
