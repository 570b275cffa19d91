#include "app/cli/DistributedArgs.h"

#include "model/core/Numbers.h"
#include "model/runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace prisma::cli {
namespace {

constexpr int kMaxPort = 65535;

// The option's value, else the environment variable's, else `fallback`.
std::string setting(const CliArgs& a, const char* option, const char* env, const std::string& fallback) {
  if (a.has(option)) return a.value(option);
  const char* v = std::getenv(env);
  return v && *v ? std::string(v) : fallback;
}

int integer(const std::string& text, const std::string& what) {
  // Ranges are checked by the caller, which names the environment variable too.
  if (!integerProblem(text, INT_MIN, INT_MAX).empty())
    throw UsageError(what + " needs an integer, got '" + text + "' (" + integerProblem(text, INT_MIN, INT_MAX) + ")");
  return static_cast<int>(*parseInteger(text));
}

}  // namespace

const std::vector<std::string>& distributedOptionNames() {
  static const std::vector<std::string> names{"nproc", "rank", "world-size", "master-addr", "master-port",
                                              "timeout-s"};
  return names;
}

DistributedArgs DistributedArgs::from(const CliArgs& a) {
  DistributedArgs d;
  d.world_size = integer(setting(a, "world-size", "WORLD_SIZE", "1"), "--world-size / WORLD_SIZE");
  d.rank = integer(setting(a, "rank", "RANK", "0"), "--rank / RANK");
  d.local_rank = integer(setting(a, "local-rank", "LOCAL_RANK", std::to_string(d.rank)), "LOCAL_RANK");
  d.local_world_size = integer(setting(a, "local-world-size", "LOCAL_WORLD_SIZE", "1"), "LOCAL_WORLD_SIZE");
  d.master_addr = setting(a, "master-addr", "MASTER_ADDR", d.master_addr);
  d.master_port = integer(setting(a, "master-port", "MASTER_PORT", std::to_string(d.master_port)),
                          "--master-port / MASTER_PORT");
  if (a.has("timeout-s")) {
    d.timeout_s = parseRealOption(a.value("timeout-s"), "timeout-s", 0.0, std::numeric_limits<double>::max());
    if (!(d.timeout_s > 0)) throw UsageError("--timeout-s must be positive");
  }
  if (d.world_size < 1) throw UsageError("--world-size / WORLD_SIZE must be at least 1");
  if (d.rank < 0 || d.rank >= d.world_size)
    throw UsageError("--rank / RANK " + std::to_string(d.rank) + " outside [0, " + std::to_string(d.world_size) +
                     ")");
  if (d.master_port < 1 || d.master_port > kMaxPort)
    throw UsageError("--master-port / MASTER_PORT " + std::to_string(d.master_port) + " is not a TCP port");
  if (d.master_addr.empty()) throw UsageError("--master-addr / MASTER_ADDR is empty");
  d.local_world_size = std::max(1, d.local_world_size);
  return d;
}

int DistributedArgs::threads() const {
  if (const char* v = std::getenv("OMP_NUM_THREADS"); v && *v) {
    if (const auto n = parseInteger(v); n && *n > 0 && *n <= INT_MAX) return static_cast<int>(*n);
  }
  if (!distributed()) return 0;
  return std::max(1, runtime::availableCores() / local_world_size);
}

std::unique_ptr<distributed::GlooCollective> DistributedArgs::join() const {
  if (!distributed()) return nullptr;
  distributed::DistributedConfig c;
  c.rank = rank;
  c.world_size = world_size;
  c.master_addr = master_addr;
  c.master_port = master_port;
  c.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::llround(timeout_s * 1000.0)));
  return std::make_unique<distributed::GlooCollective>(c);
}

}  // namespace prisma::cli
