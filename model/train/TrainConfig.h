#pragma once
// A training run as one document: model config + dataset + optimisation + logging (+ an
// optional fine-tuning source). Presets (resources/presets/*.json) are such documents, and
// every run folder keeps the resolved one as preset.json, so a run can be repeated or
// resumed from its folder alone. Reading is strict: an unknown key, a wrong type or a
// nonsense value is a prisma::Error naming the file and the dotted field.

#include "datasets/Preprocess.h"
#include "model/vit/Config.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prisma::train {

// Learning rate per update. Both start with ViT-Prisma's linear warm-up lr·step/warmup.
enum class ScheduleType {
  WarmupStep,    // then lr·γ^((step−warmup)//step_size): ViT-Prisma's WarmupThenStepLR
  WarmupCosine,  // then min_lr + (lr−min_lr)·(1+cos(π·progress))/2 over the remaining steps
  Constant       // then lr
};

// What early stopping watches, and when its patience ticks: at each evaluation, or at the
// end of each epoch on the latest evaluation (ViT-Prisma's trainer, on the train accuracy).
enum class EarlyStopMetric { None, TestAcc, TrainAcc };
enum class EarlyStopEvery { Evaluation, Epoch };

std::string toString(ScheduleType v);
std::string toString(EarlyStopMetric v);
std::string toString(EarlyStopEvery v);

struct ScheduleConfig {
  ScheduleType type = ScheduleType::WarmupStep;
  int64_t warmup_steps = 10;
  int64_t step_size = 200;
  double gamma = 0.8;
  double min_lr = 0.0;  // cosine only
};

struct EarlyStoppingConfig {
  EarlyStopMetric metric = EarlyStopMetric::TestAcc;
  int patience = 0;        // ticks (see `every`) without improvement before stopping; 0 = off
  double min_delta = 0.0;  // an improvement must exceed this
  EarlyStopEvery every = EarlyStopEvery::Evaluation;
};

struct DatasetConfig {
  std::string name = "induction";      // a name from datasets::builtinDatasets() or a folder
  uint64_t seed = 0;                   // generated sets: images and split
  double test_fraction = 0.2;          // held out when the dataset has no test split
  std::string label_factor = "shape";  // dsprites
  uint64_t subsample = 0;              // dsprites: items kept, 0 = all
  std::string path;                    // data folder / file, "" = default location
  // Pixels are scaled to [0, 1], then (x − mean) / std per channel.
  std::vector<float> mean = {0.0f};
  std::vector<float> std = {1.0f};
  datasets::Interpolation interpolation = datasets::Interpolation::Bilinear;
};

struct OptimizationConfig {
  double lr = 1e-4;
  int batch_size = 64;
  int epochs = 1;          // 0 = bounded by max_steps only
  int64_t max_steps = 0;   // 0 = bounded by epochs only
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  std::optional<double> max_grad_norm;  // clip the global gradient norm; none = no clipping
  ScheduleConfig schedule;
  uint64_t seed = 0;       // weight initialisation (and a new head when fine-tuning)
  uint64_t data_seed = 0;  // order of training data: one seeded permutation per epoch
  EarlyStoppingConfig early_stopping;
};

struct LoggingConfig {
  int64_t log_every = 100;        // evaluate + log every N updates (and at 0 and the end); 0 = end only
  int eval_batches = 40;          // at most this many batches of each split per evaluation; 0 = all
  int64_t checkpoint_every = 0;   // 0 = none besides the log-spaced ones and the final one
  bool log_spaced_checkpoints = true;  // also at steps 1, 2, 4, 8, ...
};

struct FinetuneConfig {
  std::string from;             // a model loadModel opens; "" = train from scratch
  int new_head = 0;             // replace the head by a fresh one for this many classes
  bool freeze_backbone = false; // train the head only
};

struct TrainConfig {
  std::string name;         // preset name, used for run folder and model names
  std::string description;
  ViTConfig model;
  DatasetConfig dataset;
  OptimizationConfig optimization;
  LoggingConfig logging;
  FinetuneConfig finetune;

  // Updates the run makes: epochs × steps per epoch and max_steps, whichever is smaller.
  int64_t totalSteps(int64_t stepsPerEpoch) const;
  datasets::Preprocess preprocess() const;  // from the dataset section and model geometry

  // Throws prisma::Error(source, "section.field", ...) on the first nonsense value.
  void validate(const std::string& source) const;
};

void to_json(nlohmann::json& j, const TrainConfig& c);
// Reads a complete preset document (after "extends" is resolved; see Presets.h). Unknown
// keys are errors, so a typo never silently trains with a default.
TrainConfig trainConfigFromJson(const nlohmann::json& j, const std::string& source);

}  // namespace prisma::train
