// The memory budget for declared sizes (see MemoryBudget.h).

#include "model/core/MemoryBudget.h"

#include "model/Error.h"
#include "model/core/Numbers.h"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace prisma {

namespace {
// When sysconf cannot tell: a small machine's worth, so the budget errs on refusing.
constexpr uint64_t kFallbackPhysicalBytes = uint64_t(4) << 30;
}  // namespace

uint64_t physicalMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return kFallbackPhysicalBytes;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

uint64_t memoryBudget() {
  if (const char* text = std::getenv(kMaxMemoryEnv); text && *text) {
    const auto bytes = parseByteSize(text);
    if (!bytes)
      throw Error(kMaxMemoryEnv, "", std::string("'") + text + "' is not a size (e.g. 2G, 512M, 1073741824)");
    return *bytes;
  }
  return static_cast<uint64_t>(static_cast<double>(physicalMemoryBytes()) * kDefaultMemoryFraction);
}

std::string formatBytes(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  char text[48];
  if (u == 0) std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
  else std::snprintf(text, sizeof text, "%.1f %s", v, units[u]);
  return text;
}

void checkMemoryBudget(uint64_t bytes, const std::string& source, const std::string& field, const std::string& what) {
  const uint64_t budget = memoryBudget();
  if (bytes <= budget) return;
  throw Error(source, field,
              what + " would take " + formatBytes(bytes) + ", more than the memory budget of " + formatBytes(budget) +
                  " (raise it with --max-memory or " + kMaxMemoryEnv + ")");
}

}  // namespace prisma
