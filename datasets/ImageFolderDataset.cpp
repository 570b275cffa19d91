// Scans the folder once, in sorted order so labels and indices never depend on the
// file system's listing order.

#include "datasets/ImageFolderDataset.h"

#include "datasets/ImageFile.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace fs = std::filesystem;

namespace prisma::datasets {
namespace {

bool hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

std::vector<fs::path> sortedChildren(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (hidden(e.path())) continue;
    std::error_code typeError;
    if (directories ? e.is_directory(typeError) : e.is_regular_file(typeError)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(const std::string& root, ImageCheck check) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw std::runtime_error(root + ": no such folder");
  fs::path rootPath = fs::path(root).lexically_normal();
  if (rootPath.filename().empty()) rootPath = rootPath.parent_path();
  name_ = rootPath.filename().string();

  // A folder with train/ and test/ (or val/) holds its own split.
  fs::path trainDir, testDir;
  for (const auto& dir : sortedChildren(rootPath, true)) {
    const std::string n = lower(dir.filename().string());
    if (n == "train") trainDir = dir;
    else if (n == "test" || (n == "val" && testDir.empty())) testDir = dir;
  }
  const bool presplit = !trainDir.empty() && !testDir.empty();
  if (!presplit) trainDir = rootPath;

  std::map<std::string, std::vector<fs::path>> trainClasses, testClasses;
  for (const auto& dir : sortedChildren(trainDir, true)) trainClasses[dir.filename().string()] = sortedChildren(dir, false);
  if (presplit)
    for (const auto& dir : sortedChildren(testDir, true)) testClasses[dir.filename().string()] = sortedChildren(dir, false);
  for (const auto& [name, files] : trainClasses) classNames_.push_back(name);
  for (const auto& [name, files] : testClasses)
    if (!trainClasses.count(name)) classNames_.push_back(name);
  std::sort(classNames_.begin(), classNames_.end());
  if (classNames_.empty())
    throw std::runtime_error(root + ": no class sub-folders (expected " + root + "/<class>/<image>)");

  bool first = true;
  auto add = [&](const std::map<std::string, std::vector<fs::path>>& classes, std::vector<Entry>& into) {
    for (const auto& [name, files] : classes) {
      const int label = static_cast<int>(
          std::lower_bound(classNames_.begin(), classNames_.end(), name) - classNames_.begin());
      for (const auto& file : files) {
        std::string problem;
        const auto shape = probeImage(file.string(), check, problem);
        if (!shape) {
          warnings_.push_back(file.string() + ": skipped, " + problem);
          continue;
        }
        mergeShape(shape_, *shape, first);
        first = false;
        into.push_back({file.string(), label});
      }
    }
  };
  add(trainClasses, train_);
  add(testClasses, test_);
}

std::size_t ImageFolderDataset::size(Split split) const {
  return split == Split::Train ? train_.size() : test_.size();
}

const ImageFolderDataset::Entry& ImageFolderDataset::entry(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return split == Split::Train ? train_[index] : test_[index];
}

const std::string& ImageFolderDataset::path(Split split, std::size_t index) const {
  return entry(split, index).path;
}

int ImageFolderDataset::label(Split split, std::size_t index) const { return entry(split, index).label; }

Item ImageFolderDataset::item(Split split, std::size_t index) const {
  const Entry& e = entry(split, index);
  return readImageItem(e.path, e.label);
}

}  // namespace prisma::datasets
