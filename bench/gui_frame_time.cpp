// Frame time of an empty frame (begin_frame + end_frame, no ImGui windows): the renderer's own
// overhead per frame — acquire, record, submit, present — on whatever device and display there
// is. Usage (no display: under Xvfb):
//   xvfb-run -a -s "-screen 0 1600x1000x24" build/fusescope_gui_frame_time [frames] [WxH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "app/renderer.hpp"
#include "app/window.hpp"
#include "gpu/device.hpp"

using namespace fusescope;

int main(int argc, char** argv) try {
  const int frames = argc > 1 ? std::atoi(argv[1]) : 100;
  int w = 1280, h = 800;
  if (argc > 2) std::sscanf(argv[2], "%dx%d", &w, &h);
  app::Window window(app::WindowOptions{w, h, "fusescope frame time", true});
  gpu::DeviceOptions o;
  o.instance_extensions = app::Window::required_instance_extensions();
  o.present_support = app::Window::can_present;
  gpu::Device device(o);
  app::Renderer renderer(device, window);
  for (int i = 0; i < 10; ++i) {  // warm-up: swapchain images, pipeline, font upload
    if (!renderer.begin_frame()) return 1;
    renderer.end_frame();
  }
  std::vector<double> ms;
  for (int i = 0; i < frames; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!renderer.begin_frame()) break;
    renderer.end_frame();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s, %ux%u, %zu empty frames: median %.2f ms, min %.2f ms, max %.2f ms\n",
              device.info().name.c_str(), renderer.framebuffer_extent().width,
              renderer.framebuffer_extent().height, ms.size(), ms[ms.size() / 2], ms.front(), ms.back());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fusescope_gui_frame_time: %s\n", e.what());
  return 1;
}
