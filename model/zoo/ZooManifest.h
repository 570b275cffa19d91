#pragma once
// The mice zoo's manifest (resources/zoo/zoo.json): which small ViTs `prisma zoo build`
// trains, each as a training preset plus overrides and a seed, so every mouse can be
// retrained from the manifest alone. Mice are grouped in families that share a preset,
// overrides and the reductions made to the original config; a mouse's own overrides are
// applied after its family's.
//
//   {"format": "prisma-zoo", "format_version": 1,
//    "families": [{"name": "mnist", "preset": "mnist", "dataset_label": "MNIST",
//                  "overrides": {"optimization.lr": 1e-3, ...}, "reductions": ["..."],
//                  "mice": [{"name": "mnist-4L", "overrides": {...}, "seed": 0,
//                            "checkpoint_series": false}, ...]}]}

#include "model/train/Presets.h"
#include "model/train/TrainConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::zoo {

struct ZooEntry {
  std::string name;            // the mouse: mouse:NAME, resources/mice/NAME
  std::string family;          // e.g. "mnist"
  std::string dataset_label;   // for tables, e.g. "MNIST"
  std::string preset;          // a preset name or file (train/Presets.h)
  train::Overrides overrides;  // family's, then the mouse's
  uint64_t seed = 0;           // optimization.seed and optimization.data_seed
  bool checkpoint_series = false;  // ship the log-spaced checkpoints too
  std::vector<std::string> reductions;  // how the config differs from the original, and why
  std::string note;            // what the mouse is for (model card)
  // The original's published test accuracy for this configuration (ViT-Prisma's tables), to
  // print beside ours; negative where it has none.
  double reference_accuracy = -1.0;
};

struct ZooManifest {
  std::string path;
  std::vector<ZooEntry> entries;  // manifest order
  const ZooEntry* find(const std::string& name) const;
};

// Throws prisma::Error naming the file and the field on anything malformed (unknown keys
// too, as presets do) or on duplicate mouse names.
ZooManifest readZooManifest(const std::string& path);

// resources/zoo/zoo.json in the first resource folder that has it (io/ResourcePaths.h).
std::string defaultZooManifestPath();

// The entry's resolved training config: its preset with the overrides and seed applied,
// named after the mouse.
train::TrainConfig entryConfig(const ZooEntry& entry);

}  // namespace prisma::zoo
