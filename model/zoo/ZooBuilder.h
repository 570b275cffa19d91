#pragma once
// `prisma zoo build` as a library: train one zoo entry reproducibly (its preset, overrides
// and seed, one LibTorch thread, through train::train) into a run folder, measure the
// final model on the whole test part, and ship it into the mice folder:
//   mice/NAME/config.json, model.safetensors   the final weights in the smallest storage
//                                              that keeps every test hit: int8 blocks,
//                                              else float16, else float32
//   mice/NAME/README.md                        model card
//   mice/NAME/metrics.json                     test accuracy, top-5, steps, seconds, config
//   mice/NAME/preset.json, metrics.csv         the run's preset and curve (the explorer's
//                                              training view opens the folder as a run)
//   mice/NAME/checkpoints/step_*/              log-spaced series (checkpoint_series only)
// The mouse is staged in a hidden sibling folder and swapped in once complete.
// A run folder that already holds a finished run of the identical config is reused (a
// build is up to date), an unfinished one is resumed; one of another config is an error.

#include "model/io/WeightStorage.h"
#include "model/train/Evaluation.h"
#include "model/train/Trainer.h"
#include "model/zoo/MouseEvaluation.h"
#include "model/zoo/ZooManifest.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace prisma::zoo {

constexpr const char* kMetricsFile = "metrics.json";
// Enough points to see a curve bend; more would mostly grow resources/mice.
constexpr int kMaxSeriesCheckpoints = 8;
// The zoo trains with one thread so results are bit-for-bit repeatable on one machine.
constexpr int kZooThreads = 1;

struct BuildOptions {
  std::string runs_dir;  // run folders: RUNS/NAME
  std::string mice_dir;  // shipped mice: MICE/NAME
  int threads = kZooThreads;
  train::ProgressFn progress;
  std::function<void(const std::string&)> log;  // one line per stage
};

struct MouseMetrics {
  std::string name;
  train::EvalMetrics test;       // of the shipped weights
  train::EvalMetrics test_fp32;  // of the trained float32 weights
  io::WeightStorage storage = io::WeightStorage::Float32;  // of the shipped weights
  int64_t steps = 0;
  int64_t samples = 0;
  double training_seconds = 0.0;
  int64_t parameters = 0;
  nlohmann::json json;           // what metrics.json holds
};

MouseMetrics buildMouse(const ZooEntry& entry, const BuildOptions& options);

// metrics.json of a shipped mouse folder; null when it has none. Throws prisma::Error on a
// malformed file.
nlohmann::json readMouseMetrics(const std::string& mouseDir);

}  // namespace prisma::zoo
