#include "gpu/spirv_registry.hpp"

#include <stdexcept>
#include <string>

namespace fusescope::gpu {

const SpirvBlob& find_shader(std::string_view name) {
  for (const SpirvBlob* blob : embedded_shaders()) {
    if (name == blob->name) return *blob;
  }
  throw std::logic_error("no embedded shader named '" + std::string(name) +
                         "' (is shaders/" + std::string(name) + ".comp missing?)");
}

}  // namespace fusescope::gpu
