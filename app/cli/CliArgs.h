#pragma once
// A small argument reader for the `prisma` sub-commands: positionals, `--flag`,
// `--key value` (repeatable), with errors that name the offending option.

#include <climits>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace prisma::cli {

class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The values an integer option accepts. Every numeric option and spec index is read by
// parseIntegerOption / parseRealOption (on model/core/Numbers.h), so "-1" for a count,
// "3x" or 99999999999999999999 are all one kind of usage error (exit 2) naming the option.
struct IntRange {
  int64_t min;
  int64_t max;
};
inline constexpr IntRange kCount{1, INT_MAX};          // repetitions, sizes, steps, processes
inline constexpr IntRange kNonNegative{0, INT_MAX};    // indices, seeds, "0 = off" settings
inline constexpr IntRange kAnyInt{INT_MIN, INT_MAX};   // only where a sign means something

// `text` as an integer in `range`; a UsageError "--option ..." otherwise.
int64_t parseIntegerOption(const std::string& text, const std::string& option, IntRange range);
// `text` as a finite number in [min, max]; a UsageError "--option ..." otherwise.
double parseRealOption(const std::string& text, const std::string& option, double min, double max);

// Options every command takes, read before the command's own: --max-memory SIZE,
// --max-image-pixels N and --accept-truncated-images. They become the environment
// variables the readers consult (PRISMA_MAX_MEMORY, PRISMA_MAX_IMAGE_PIXELS,
// PRISMA_ACCEPT_TRUNCATED_IMAGES), so processes this one starts inherit them. Returns
// the arguments without them; a UsageError on a bad value.
std::vector<std::string> applyGlobalOptions(const std::vector<std::string>& args);
// For usage texts.
extern const char* const kGlobalOptionsHelp;

class CliArgs {
public:
  // `valued` lists the options that take a value; any other `--x` is a flag.
  CliArgs(const std::vector<std::string>& args, const std::vector<std::string>& valued,
          const std::vector<std::string>& flags);

  const std::vector<std::string>& positionals() const { return positionals_; }
  std::string positional(size_t i, const char* what) const;
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string value(const std::string& name, const std::string& fallback = "") const;
  std::string required(const std::string& name) const;
  std::vector<std::string> values(const std::string& name) const;
  // The option as an integer in `range` (the fallback when absent, unchecked); a
  // UsageError naming the option otherwise.
  int intValue(const std::string& name, int fallback, IntRange range = kAnyInt) const;
  double realValue(const std::string& name, double fallback, double min, double max) const;

private:
  std::vector<std::string> positionals_;
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, bool> flags_;
};

// "3,5,7" -> {3, 5, 7}, each in `range`; a UsageError naming --option on anything else.
std::vector<int64_t> parseInts(const std::string& text, const std::string& option, IntRange range = kNonNegative);
// A class index checked against the model's class count (a UsageError naming --option).
int classCheck(int64_t c, int n_classes, const std::string& option);

}  // namespace prisma::cli
