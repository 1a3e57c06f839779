// libFuzzer target: bytes as a `fusescope` command line, one argument per line, parsed by the
// very CLI11 app main.cpp builds (cli::add_fusescope_commands): flags, validators, subcommand
// requirements. The parse stops before any subcommand's action runs (ParseOnlyApp), so no
// device, file or model is touched; a ParseError is what a user sees as a usage error (exit 2).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bad_input.hpp"
#include "cli/app.hpp"

namespace {

struct Parsed {};  // thrown once the whole command line has been accepted

// CLI11 calls pre_callback() on the top-level app after every flag is parsed and checked and
// before any subcommand's callback: the one place to stop between parsing and doing.
class ParseOnlyApp : public CLI::App {
 public:
  using CLI::App::App;
  void pre_callback() override { throw Parsed{}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fusescope;
  std::vector<std::string> args;  // CLI11 wants them last-first
  std::string cur;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(data[i]);
    }
  }
  if (!cur.empty()) args.push_back(cur);
  if (args.size() > 64) return 0;  // longer command lines add nothing but time
  std::vector<std::string> reversed(args.rbegin(), args.rend());

  ParseOnlyApp app{"fusescope"};
  cli::GlobalOptions global;
  int exit_code = 0;
  cli::add_fusescope_commands(app, global, exit_code);
  return fuzz::reject_bad_input([&] {
    try {
      app.parse(reversed);
    } catch (const Parsed&) {
    } catch (const CLI::ParseError&) {  // --help and usage errors: main.cpp prints them, exit 0 or 2
    }
  });
}
