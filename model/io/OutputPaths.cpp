#include "model/io/OutputPaths.h"

#include "model/Error.h"
#include "model/io/ResourcePaths.h"

#include <filesystem>

namespace prisma::io {

namespace {

namespace fs = std::filesystem;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kSpecMarker = ".safetensors:";  // InputSpec's FILE.safetensors:KEY

// Absolute, with symbolic links and ".." resolved as far as the path exists.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec) p = fs::path(path);
  fs::path r = fs::weakly_canonical(p, ec);
  r = (ec ? p : r).lexically_normal();
  return r.has_filename() ? r : r.parent_path();  // "D/" is D
}

// Whether `inner` is `outer` or lies below it, component by component.
bool within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

bool sameFile(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return a == b || (fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec));
}

bool existsNoThrow(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

}  // namespace

void refuseOutputOverInputs(const std::string& output, OutputKind kind, const std::vector<std::string>& inputs) {
  const fs::path out = resolved(output);
  for (const auto& input : inputs) {
    if (input.empty()) continue;
    const fs::path in = resolved(input);
    std::error_code ec;
    const bool inputIsFolder = fs::is_directory(in, ec);
    if (sameFile(out, in))
      throw Error(output, "", std::string("is the input ") + input + " itself: writing " +
                                  (kind == OutputKind::Folder ? "into it" : "it") +
                                  " would destroy what this command reads; choose another output");
    if (inputIsFolder && within(out, in))
      throw Error(output, "", "lies inside the input folder " + input +
                                  ": writing there would change what this command reads; choose an output outside it");
    if (kind == OutputKind::Folder && within(in, out))
      throw Error(output, "", "holds the input " + input +
                                  ": writing this folder could overwrite it; choose a folder that does not contain it");
  }
}

std::vector<std::string> modelInputPaths(const std::string& model) {
  if (isMouseName(model)) {
    try {
      return {mouseDirectory(model)};
    } catch (const std::exception&) {
      return {};  // an unknown mouse: loading it reports that
    }
  }
  std::vector<std::string> out{model};
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) return out;
  const fs::path dir = fs::absolute(model, ec).parent_path();
  if (existsNoThrow(dir / kConfigFile)) out.push_back(dir.string());  // the weight file stands for its folder
  else if (existsNoThrow(dir.parent_path() / kConfigFile)) out.push_back((dir.parent_path() / kConfigFile).string());
  return out;
}

std::string inputSpecPath(const std::string& spec) {
  const auto pos = spec.find(kSpecMarker);
  return pos == std::string::npos ? spec : spec.substr(0, pos + std::string(kSpecMarker).size() - 1);
}

}  // namespace prisma::io
