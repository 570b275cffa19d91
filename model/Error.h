#pragma once
// The one exception type of the core: every message names the file (or other source)
// and the field or key at fault, so the GUI can show it verbatim.

#include <stdexcept>
#include <string>

namespace prisma {

class Error : public std::runtime_error {
public:
  Error(std::string source, std::string field, const std::string& message)
      : std::runtime_error(compose(source, field, message)),
        source_(std::move(source)),
        field_(std::move(field)) {}

  const std::string& source() const { return source_; }  // file path, or "" when none
  const std::string& field() const { return field_; }    // key / field name, or ""

private:
  static std::string compose(const std::string& source, const std::string& field,
                             const std::string& message) {
    std::string out;
    if (!source.empty()) out += source + ": ";
    if (!field.empty()) out += "'" + field + "': ";
    return out + message;
  }

  std::string source_;
  std::string field_;
};

}  // namespace prisma
