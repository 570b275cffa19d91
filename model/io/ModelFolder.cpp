// Finding a folder's weight file (see ModelFolder.h).

#include "model/io/ModelFolder.h"

#include <filesystem>
#include <regex>
#include <vector>

namespace fs = std::filesystem;

namespace prisma::io {

std::string latestCheckpoint(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  static const std::regex kName(R"(model_(\d+)\.pth?)");
  std::string best;
  long long bestN = -1;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !std::regex_match(name, m, kName)) continue;
    long long n = -1;
    try {
      n = std::stoll(m[1].str());
    } catch (const std::exception&) {
      continue;  // more digits than a step count has
    }
    if (n > bestN) {
      bestN = n;
      best = e.path().string();
    }
  }
  return best;
}

std::string findWeightFile(const std::string& folder) {
  const fs::path dir(folder);
  for (const char* name : {"model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"})
    if (fs::is_regular_file(dir / name)) return (dir / name).string();
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".safetensors" || ext == ".pth" || ext == ".pt" || ext == ".bin"))
      found.push_back(e.path().string());
  }
  if (found.size() == 1) return found.front();
  const std::string ckpt = latestCheckpoint((dir / "checkpoints").string());
  return ckpt;
}

}  // namespace prisma::io
