#pragma once
// The classifier trainer: from a TrainConfig (a preset with overrides) to a run folder, or
// nowhere (benchmarks, tests). It opens the dataset, sets up the model (ModelSetup.h: fresh,
// fine-tuned or resumed), runs the generic TrainingLoop with a ClassifierObjective, and
// writes the run folder's model, curves and card (RunFolderWriter.h, which also shows the
// folder's layout). Everything a GUI worker needs is here: it calls train() in its thread
// with a progress callback and a TrainControl (TrainingLoop.h). Data parallelism:
// DataParallel.h.

#include "model/train/ClassifierObjective.h"
#include "model/train/Presets.h"
#include "model/train/TrainingLoop.h"
#include "model/vit/HookedViT.h"

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::train {

struct TrainResult {
  std::string run_dir;
  std::string stop_reason;  // "max_steps", "epochs", "early_stopping", "stopped"
  int64_t steps = 0;
  int64_t samples = 0;
  int64_t skipped_steps = 0;   // updates skipped for a non-finite loss, all sessions
  double elapsed_s = 0.0;      // training wall time, resumed sessions included
  double session_s = 0.0;      // this call, preparation included
  double update_s = 0.0;       // this call, inside updates only (no evaluation, no I/O)
  double images_per_s = 0.0;   // this call: images / update_s
  LogRow final;                // the last evaluation (classifierMetrics() reads it)
  std::vector<LogRow> rows;    // every evaluation
  std::vector<CheckpointInfo> checkpoints;
  HookedViT model{nullptr};
  TrainConfig config;          // as run (a fine-tuned model's config and preprocessing)
};

// Throws prisma::Error (file / field named) on bad configs, missing data, a run folder
// that already holds a run (without resume) or that another trainer is using, unreadable
// checkpoints, or a non-finite loss (unless TrainOptions::skip_nonfinite_steps).
TrainResult train(TrainConfig config, const TrainOptions& options);

// The preset.json of a run folder with overrides applied. Refuses overrides that would
// make the continued run a different one: model, dataset, finetune, batch size, seeds.
TrainConfig resumeConfig(const std::string& runDir, const Overrides& overrides = {});

// runs/<preset>-<YYYYmmdd-HHMMSS> under `parent`.
std::string defaultRunDir(const TrainConfig& config, const std::string& parent = "runs");

}  // namespace prisma::train
