// The window's panels: plain functions over a Session snapshot and the UI's own state (Dear
// ImGui's demo style: no framework around them). A panel reads, draws and posts requests; it
// never blocks and never calls Vulkan. Pictures are textures the renderer already holds.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <imgui.h>

#include "app/camera_session.hpp"
#include "app/session.hpp"

namespace fusescope::app {

class TextureRegistry;
struct Texture;

enum class Tab { tensor, compare, fusion, timing, camera, kernel };
const char* to_string(Tab tab);
Tab parse_tab(const std::string& name);  // tensor | compare | fusion | timing | camera | kernel (ops::InvalidArgument)

// What the UI remembers between frames (not the session's business).
struct UiState {
  Tab tab = Tab::tensor;
  bool tab_changed = true;  // make the tab bar select `tab` on the next frame
  char search[128] = {};
  std::set<std::string> breakpoints;  // reference node names
  bool playing = false;
  float play_nodes_per_second = 4.0f;
  double last_play_step = 0;
  std::string scroll_to;  // a value just selected elsewhere: the model tree opens and scrolls to it
  // Shared zoom and pan of every tensor picture: zoom 1 shows the whole picture; centre in uv.
  float zoom = 1.0f;
  ImVec2 centre{0.5f, 0.5f};
  float threshold_log10 = -4.0f;  // "over threshold" for the error-vs-depth plot
  int candidate = 0;              // index into workbench::standard_candidates()
  bool nhwc = false;              // device layout of activations
  std::vector<std::string> devices;       // every Vulkan device, by index
  int device = 0;                         // the one in use
  std::optional<int> switch_device;       // picked in the toolbar: gui.cpp rebuilds on it
  std::uint64_t failures_seen = 0;        // Snapshot::requests_failed the toolbar has answered
  // The open form.
  char model_path[512] = {};
  char input_path[512] = {};
  char size_text[32] = {};
  bool browser_open = false;
  std::string browser_dir;
  std::string browser_target;  // "model" or "input"
  // Pictures: which snapshot picture id each texture key holds now.
  std::map<std::string, std::uint64_t> uploaded;
  bool select_position_when_idle = false;
  // The camera panel's form and view.
  char camera_source[512] = "synthetic";
  char camera_model[512] = "blazeface-front";
  float camera_score = 0.5f, camera_iou = 0.3f;
  bool camera_thresholds_known = false;  // the sliders take the detector's defaults once it opens
  bool camera_show_unfused = true, camera_show_fused = true;
  std::uint64_t camera_frozen_seen = 0;  // the last freeze handed to the stepper
  // The kernel panel's editor: the node whose source it holds, the text, and whether the user
  // changed it since it last matched what runs; the file it saves to and watches.
  std::string kernel_node;
  std::uint64_t kernel_generation = ~std::uint64_t{0};
  std::string kernel_text;
  bool kernel_dirty = false;
  char kernel_file[512] = {};
  bool kernel_watch = false;
  std::int64_t kernel_watch_stamp = 0;  // the watched file's last write time (ns) when last read
  double kernel_watch_checked = 0;      // ImGui time of the last look at it
  std::uint64_t script_requests = 0;  // scripted mode: requests_done once its requests ran  // scripted stepping: select where it stopped
};

// The texture key of the i-th RepVGG branch picture.
std::string repvgg_picture_key(std::size_t i);

// What the toolbar's fields ask to load (model, input, size, candidate, layout), with the loaded
// study's precision, conv algorithm and oracle choice kept.
LoadRequest load_request_from_form(const Snapshot& s, const UiState& ui);

// Selects a reference value from any panel: posts the request and has the model tree show it.
void select_value(Session& session, UiState& ui, const std::string& value);

// Copies the snapshot's new pictures into textures (queued for the next frame's command buffer).
void upload_pictures(const Snapshot& s, UiState& ui, TextureRegistry& textures);

// The whole window: toolbar, model tree, the tabbed main area, the log. Without a camera
// session the camera tab says so.
void draw_window(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono,
                 CameraSession* camera = nullptr, const CameraSnapshot* camera_snapshot = nullptr);

// The camera frame's texture, uploaded when a new frame arrived.
void upload_camera_frame(const CameraSnapshot& c, UiState& ui, TextureRegistry& textures);

// Keys: → step, ↓ block, space play/pause, Home reset; and playing at the chosen speed.
void handle_keys_and_play(Session& session, const Snapshot& s, UiState& ui);

// Pieces, each one panel.
void draw_toolbar(Session& session, const Snapshot& s, UiState& ui);
void draw_model_panel(Session& session, const Snapshot& s, UiState& ui, ImFont* mono);
void draw_tensor_panel(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono);
void draw_compare_panel(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono);
void draw_fusion_panel(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono);
void draw_timing_panel(const Snapshot& s, UiState& ui, ImFont* mono);
void draw_log_panel(const Snapshot& s, ImFont* mono);
// After a load ran out of device memory: one button per smaller load the session offers.
void draw_smaller_loads(Session& session, const Snapshot& s);
void draw_kernel_panel(Session& session, const Snapshot& s, UiState& ui, ImFont* mono);

// Error-versus-depth: log10 rel-L2 per layer for the candidate (local, end to end) and each
// network against the oracle; the selected layer marked; clicking a layer selects it.
void draw_depth_plot(Session& session, const Snapshot& s, UiState& ui, float height);
void draw_camera_panel(Session& session, CameraSession& camera, const CameraSnapshot& c, UiState& ui,
                       TextureRegistry& textures, ImFont* mono);

// Bars over the available width, `height` pixels tall; log_scale: heights by log10(1 + v);
// bars whose index is in `flagged` use the warning colour; hovering shows "label[i] = v".
void draw_bars(const std::vector<double>& values, float height, bool log_scale, const std::set<std::size_t>& flagged,
               const char* label);

// A vertical colour bar for the map with its value range, `height` pixels tall.
void draw_legend(ops::ColorMap map, double lo, double hi, float height);

}  // namespace fusescope::app
