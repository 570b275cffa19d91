#pragma once
// The training loop: from a TrainConfig (a preset with overrides) to a run folder, or
// nowhere (benchmarks, tests). Everything a GUI worker needs is here: it calls train() in
// its thread with a progress callback (invoked after every update, evaluation, checkpoint
// and while paused; coalesce on the GUI side) and a TrainControl to stop or pause it.
//
// Run folder:
//   preset.json                  the resolved preset (every field)
//   config.json, model.safetensors   the final model (`prisma info DIR`, `prisma run DIR`)
//   README.md, curves.png        model card and its loss/accuracy plot
//   metrics.csv, events.out.tfevents.*   per-evaluation metrics, TensorBoard scalars
//   checkpoints/step_XXXXXXXX-samples_N/  model + training.json + optimizer.safetensors
//
// Exact resume: the data order is a function of the step (TrainingData), the learning
// rate too (LrSchedule), and a checkpoint holds the weights, AdamW's moments and step
// counts, and the early-stopping state; so 2K steps in one go and K + resume + K give
// bit-identical weights on the same machine and thread count.

#include "model/train/Checkpoint.h"
#include "model/train/Collective.h"
#include "model/train/Presets.h"
#include "model/train/RunLog.h"
#include "model/train/TrainConfig.h"
#include "model/train/TrainControl.h"
#include "model/vit/HookedViT.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace prisma::train {

enum class TrainPhase {
  Preparing,     // loading data / model; see message
  Training,      // after an update
  Evaluated,     // after an evaluation; see row
  Checkpointed,  // after a checkpoint; see checkpoint
  Paused,        // waiting while TrainControl::paused()
  Finished       // the run is over; see stop_reason
};

struct TrainProgress {
  static constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
  TrainPhase phase = TrainPhase::Preparing;
  std::string message;
  int64_t step = 0;          // updates made
  int64_t total_steps = 0;   // updates planned
  int64_t samples = 0;
  double epoch = 0.0;
  double lr = kUnknown;          // of the last update
  double batch_loss = kUnknown;  // of the last update
  double elapsed_s = 0.0;        // this session
  double eta_s = kUnknown;
  double images_per_s = kUnknown;  // this session, updates only
  std::optional<LogRow> row;
  std::string checkpoint;
  std::string stop_reason;
};
using ProgressFn = std::function<void(const TrainProgress&)>;

struct TrainOptions {
  std::string run_dir;    // "" = write nothing (no logs, checkpoints or model)
  bool resume = false;    // continue the run in run_dir from its latest checkpoint
  ProgressFn progress;
  const TrainControl* control = nullptr;
  CheckpointHooks checkpoint_hooks;
  size_t cache_budget_bytes = size_t(768) << 20;  // see TrainingDataOptions
  int threads = 0;        // LibTorch threads for this thread; 0 = runtime::configureThreads()
  // Data-parallel training over the collective's ranks when it has more than one (see
  // below); nullptr or a world of one: the single-process path, unchanged.
  Collective* collective = nullptr;
};

// Data parallelism. optimization.batch_size stays the global batch: every rank takes the
// same seeded batch of the epoch (TrainingData) and runs its own contiguous slice of it,
// rank r of W positions [r·n/W, (r+1)·n/W); so W processes at B each update exactly like
// one process at W·B, up to float rounding, and a run resumes under any world size that
// divides its batch sensibly. Each rank scales its slice's mean loss by its share of the
// batch and the gradients are summed over ranks (bucketed), which gives the batch mean
// before clipping, so every rank clips and steps identically. Parameters are broadcast
// from rank 0 at the start; evaluations are sharded and their sums reduced, so every rank
// logs and early-stops on the same numbers. Only rank 0 writes to run_dir (checkpoints,
// logs, model, card); the others read it when resuming, so on several machines run_dir
// must be on a shared filesystem for --resume. A stop request on any rank stops all
// ranks after the current update. Pausing is a single-process feature.

struct TrainResult {
  std::string run_dir;
  std::string stop_reason;  // "max_steps", "epochs", "early_stopping", "stopped"
  int64_t steps = 0;
  int64_t samples = 0;
  double elapsed_s = 0.0;      // training wall time, resumed sessions included
  double session_s = 0.0;      // this call, preparation included
  double update_s = 0.0;       // this call, inside updates only (no evaluation, no I/O)
  double images_per_s = 0.0;   // this call: images / update_s
  LogRow final;                // the last evaluation
  std::vector<LogRow> rows;    // every evaluation
  std::vector<CheckpointInfo> checkpoints;
  HookedViT model{nullptr};
  TrainConfig config;          // as run (a fine-tuned model's config and preprocessing)
};

// Throws prisma::Error (file / field named) on bad configs, missing data, a run folder
// that already holds a run (without resume), or unreadable checkpoints.
TrainResult train(TrainConfig config, const TrainOptions& options);

// The preset.json of a run folder with overrides applied. Refuses overrides that would
// make the continued run a different one: model, dataset, finetune, batch size, seeds.
TrainConfig resumeConfig(const std::string& runDir, const Overrides& overrides = {});

// runs/<preset>-<YYYYmmdd-HHMMSS> under `parent`.
std::string defaultRunDir(const TrainConfig& config, const std::string& parent = "runs");

}  // namespace prisma::train
