#pragma once
// `prisma sae train` as a library call: an SAE on one hook of a frozen model, trained on a
// registry dataset's images by the generic training loop with SaeObjective (see there for
// the recipe). The run folder is the loop's (preset.json, metrics.csv, TensorBoard events,
// checkpoints/ each holding sae.json + sae.safetensors + the optimizer state) plus the
// final SAE in the folder itself, so `prisma sae info|encode|eval DIR` read it.

#include "model/sae/SaeObjective.h"
#include "model/train/TrainConfig.h"
#include "model/train/TrainingLoop.h"

#include <nlohmann/json.hpp>

#include <string>

namespace prisma::sae {

struct SaeTrainConfig {
  std::string model;         // anything io::loadModel opens
  std::string dataset;       // a registry name (datasets::makeDataset) or folder
  std::string dataset_path;  // data location, "" = default
  uint64_t dataset_seed = 0;
  SaeTrainSettings settings;
  train::OptimizationConfig optimization;  // batch_size = images per update
  train::LoggingConfig logging;

  // ViT-Prisma's defaults where it has them: Adam (no weight decay), warm-up then cosine,
  // gradient clipping at 1.
  static SaeTrainConfig defaults();
  nlohmann::json toJson() const;
  // Throws prisma::Error naming `source` and the field.
  static SaeTrainConfig fromJson(const nlohmann::json& j, const std::string& source);
};

struct SaeTrainResult {
  SparseAutoencoder sae{nullptr};
  train::LoopResult loop;
  double rows_per_s = 0;  // activations per second inside updates (this session)
};

// Trains; with options.resume, continues the run in options.run_dir from its latest
// checkpoint (its preset.json must describe the same run). Throws prisma::Error.
SaeTrainResult trainSae(const SaeTrainConfig& config, const train::TrainOptions& options);

// The config a run folder was started with (its preset.json).
SaeTrainConfig readSaeRunConfig(const std::string& runDir);

}  // namespace prisma::sae
