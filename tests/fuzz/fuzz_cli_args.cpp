// libFuzzer target for the command line's option parsing: the input is an argument list
// ('\0'-separated). The global options, the option reader and the one integer / float /
// list parser must answer anything with a value or a UsageError naming the option -- never
// another exception (std::stoi's "stoi", std::out_of_range) or a crash.

#include "app/cli/CliArgs.h"
#include "model/core/Numbers.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
// The kinds of option `prisma` commands take, with their ranges.
const std::vector<std::string> kValued = {"reps", "layer", "batch", "timeout-s", "positions", "input"};
const std::vector<std::string> kFlags = {"quick", "grid"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') args.emplace_back();
    else args.back() += static_cast<char>(data[i]);
  }
  // The bare parsers see every argument as it is.
  for (const auto& a : args) {
    (void)prisma::parseInteger(a);
    (void)prisma::parseReal(a);
    (void)prisma::parseByteSize(a);
    (void)prisma::integerProblem(a, 0, 100);
  }
  try {
    const auto rest = prisma::cli::applyGlobalOptions(args);
    const prisma::cli::CliArgs a(rest, kValued, kFlags);
    (void)a.intValue("reps", 1, prisma::cli::kCount);
    (void)a.intValue("layer", 0, prisma::cli::kNonNegative);
    (void)a.intValue("batch", 0, prisma::cli::kAnyInt);
    (void)a.realValue("timeout-s", 1.0, 0.0, 1e9);
    if (a.has("positions")) (void)prisma::cli::parseInts(a.value("positions"), "positions");
  } catch (const prisma::cli::UsageError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "option parsing threw something other than UsageError: %s\n", e.what());
    std::abort();
  }
  return 0;
}
