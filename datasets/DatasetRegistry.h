#pragma once
// Datasets by name, for the CLI, the trainer's presets and the explorer's dataset menu.

#include "datasets/Dataset.h"
#include "datasets/Random.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prisma::datasets {

struct DatasetOptions {
  std::uint64_t seed = kDefaultSeed;  // generated sets: images, subsample and split
  std::string labelFactor = "shape";  // dsprites: shape, scale, orientation, posX, posY
  std::size_t subsample = 0;          // dsprites: items kept, 0 = the full grid
  // mnist / fashion-mnist: their folder; dsprites-npz: the .npz; folder: the folder.
  // Empty: the default location.
  std::string path;
};

struct DatasetInfo {
  std::string name;
  std::string description;
};

// The named datasets, in menu order.
std::vector<DatasetInfo> builtinDatasets();

// Checks options.labelFactor for a dataset that reads it (dsprites, dsprites-npz) without
// generating or reading any data; other datasets ignore it. Throws std::invalid_argument
// naming the factors it accepts.
void checkLabelFactor(const std::string& name, const DatasetOptions& options);

// Where dsprites-npz looks when no path is given.
std::string defaultDSpritesNpzPath();

// A named dataset (see builtinDatasets), or an existing folder (ImageFolderDataset) or
// image file (ImageFilesDataset) given as the name. Throws std::invalid_argument for an
// unknown name and std::runtime_error when data is missing or corrupt, the message naming
// the file and how to get the data.
std::unique_ptr<Dataset> makeDataset(const std::string& name, const DatasetOptions& options = {});

}  // namespace prisma::datasets
