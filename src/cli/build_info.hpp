// What `fusescope --version` says about the build: the project version and the git commit the
// binary was built from (written at build time by cmake/WriteBuildInfo.cmake).
#pragma once

namespace fusescope::cli {

const char* build_version();
const char* build_commit();

}  // namespace fusescope::cli
