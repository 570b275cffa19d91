#pragma once
// What the model-file suites (golden loaders, hostile files) share: a scratch folder, the
// fixtures loaded once each, and where a fixture keeps its reference tensors.

#include "TestUtil.h"

#include "model/io/ModelLoader.h"

#include <QObject>
#include <QTemporaryDir>

#include <filesystem>
#include <map>
#include <string>

namespace prisma::test {

class LoaderFixture : public QObject {
protected:
  QTemporaryDir tmp_;
  std::map<std::string, io::LoadedModel> models_;  // by fixture path, loaded once

  std::string path(const std::string& name) const { return tmp_.filePath(QString::fromStdString(name)).toStdString(); }

  io::LoadedModel& model(const std::string& relative) {
    auto it = models_.find(relative);
    if (it == models_.end()) it = models_.emplace(relative, io::loadModel(fixture(relative))).first;
    return it->second;
  }

  // The reference's pixel_values (legacy mice keep theirs beside config.json).
  static std::string referenceOf(const std::string& relative) {
    std::string dir = relative;
    if (dir.find("/checkpoints/") != std::string::npos) dir = dir.substr(0, dir.find("/checkpoints/"));
    else if (std::filesystem::path(dir).has_extension()) dir = std::filesystem::path(dir).parent_path().string();
    return dir + "/reference.safetensors";
  }
};

}  // namespace prisma::test
