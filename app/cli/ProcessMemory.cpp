#include "app/cli/ProcessMemory.h"

#include <fstream>
#include <sstream>

namespace prisma::cli {

namespace {
constexpr const char* kResetPeakRss = "5";  // proc(5): the clear_refs value that resets VmHWM
}  // namespace

long statusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size() + 1, field + ":") != 0) continue;
    std::istringstream s(line.substr(field.size() + 1));
    long kb = -1;
    s >> kb;
    return kb;
  }
  return -1;
}

bool resetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << kResetPeakRss;
  return static_cast<bool>(out.flush());
}

}  // namespace prisma::cli
