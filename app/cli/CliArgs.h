#pragma once
// A small argument reader for the `prisma` sub-commands: positionals, `--flag`,
// `--key value` (repeatable), with errors that name the offending option.

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
  int intValue(const std::string& name, int fallback) const;

private:
  std::vector<std::string> positionals_;
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, bool> flags_;
};

// "3,5,7" -> {3, 5, 7}; a UsageError naming --option on anything else.
std::vector<int64_t> parseInts(const std::string& text, const std::string& option);
// A class index checked against the model's class count (a UsageError naming --option).
int classCheck(int64_t c, int n_classes, const std::string& option);

}  // namespace prisma::cli
