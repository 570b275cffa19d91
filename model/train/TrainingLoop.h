#pragma once
// The training loop, generic over an Objective: AdamW with the preset's learning-rate
// schedule, gradient clipping, evaluation and logging (metrics.csv, TensorBoard events),
// early stopping, atomic checkpoints and exact resume, data parallelism over a Collective,
// and progress reports for a GUI worker (invoked after every update, evaluation,
// checkpoint and while paused; coalesce on the GUI side) with a TrainControl to stop or
// pause it. A trainer (Trainer.h for classifiers) sets up the model, data and objective,
// runs the loop, then writes its run folder's summary (RunFolderWriter.h).
//
// Exact resume: the data order is a function of the step (TrainingData), the learning
// rate too (LrSchedule), and a checkpoint holds the weights, AdamW's moments and step
// counts, the early-stopping state and the sums behind the logged interval means; so 2K
// steps in one go and K + resume + K give bit-identical weights on the same machine and
// thread count, and log the same values.
//
// Non-finite values: an update whose loss or gradient norm is NaN or infinite is never
// applied. By default the run stops there with a prisma::Error naming the step and the last
// good checkpoint (which, like the logs, is left as it was); with skip_nonfinite_steps the
// update is skipped instead (counted in the training state) and the run goes on.

#include "model/train/Checkpoint.h"
#include "model/train/Collective.h"
#include "model/train/Objective.h"
#include "model/train/RunLog.h"
#include "model/train/TrainConfig.h"
#include "model/train/TrainControl.h"
#include "model/train/TrainingData.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prisma::train {

class EarlyStopping;
class LrSchedule;

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
  // DataParallel.h); nullptr or a world of one: the single-process path, unchanged.
  Collective* collective = nullptr;
  // Skip updates whose loss or gradient norm is not finite instead of stopping the run.
  bool skip_nonfinite_steps = false;
};

using SessionClock = std::chrono::steady_clock;

// A Preparing report before the loop exists (opening data, loading a model).
void reportPreparing(const TrainOptions& options, SessionClock::time_point sessionStart, const std::string& message);

struct LoopSetup {
  OptimizationConfig optimization;
  LoggingConfig logging;
  int64_t total_steps = 0;          // updates planned (TrainConfig::totalSteps)
  nlohmann::json preset;            // preset.json, and every checkpoint's record of the run
  std::string run_name;             // models in checkpoints are named <run_name>/<checkpoint>
  // The logged column early stopping watches (higher is better), "" = none.
  std::string early_stop_column;
  std::optional<CheckpointInfo> resume_from;  // its training state and optimizer state
  SessionClock::time_point session_start = SessionClock::now();
};

struct LoopResult {
  std::string stop_reason;     // "max_steps", "epochs", "early_stopping", "stopped"
  TrainingState state;         // at the end (elapsed time as of the final checkpoint)
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  double elapsed_s = 0.0;      // training wall time, resumed sessions included
  double session_s = 0.0;      // this session, preparation included
  double update_s = 0.0;       // this session, inside updates only (no evaluation, no I/O)
  double images_per_s = 0.0;   // this session: images / update_s
  LogRow final;                // the last evaluation
  std::vector<LogRow> rows;    // every evaluation (of earlier sessions too, with a run folder)
  int world_size = 1;
};

class TrainingLoop {
public:
  // Checks and restores the resumed state, creates the optimizer and (rank 0 with a run
  // folder) writes preset.json and opens the logs. Throws prisma::Error naming the file.
  TrainingLoop(Objective& objective, TrainingData& data, LoopSetup setup, const TrainOptions& options);
  ~TrainingLoop();

  // Updates with evaluations and checkpoints on their schedules until the planned steps,
  // early stopping or a stop request; then a final evaluation and, with a run folder, a
  // final checkpoint (resumable, e.g. with more steps).
  LoopResult run();
  // The closing Finished report, after whatever the trainer writes at the end; fills the
  // result's timings.
  void finish(LoopResult& result);

  bool writes() const { return writes_; }
  void report(TrainPhase phase, const std::string& message = {});

private:
  TrainProgress progressBase() const;
  // `closesWindow`: a regular log step, after which the interval means start afresh; the
  // extra evaluations (the end of a session) report the open interval and leave it open.
  LogRow evaluateAndLog(bool closesWindow);
  [[noreturn]] void stopOnNonFinite(double loss, double norm, double lr) const;
  std::vector<double> evaluatePart(Part part, const std::vector<int64_t>& positions);
  void checkpoint();
  void loop();

  Objective& objective_;
  TrainingData& data_;
  LoopSetup setup_;
  const TrainOptions& opt_;
  Collective* coll_;    // set when data-parallel over more than one rank
  const bool writes_;   // rank 0 with a run folder
  std::vector<torch::Tensor> tensors_;  // the trained parameters
  std::vector<ScalarColumn> columns_;   // the objective's
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<EarlyStopping> early_;
  std::unique_ptr<RunLog> log_;
  std::vector<LogRow> rows_;
  std::vector<int64_t> evalTrain_, evalTest_;
  TrainingState state_;
  int64_t stepsPerEpoch_ = 1;
  int64_t sessionFirstStep_ = 0;
  int64_t sessionFirstSamples_ = 0;
  double elapsedBefore_ = 0.0;
  double updateSeconds_ = 0.0;
  double lastLoss_ = TrainProgress::kUnknown;
  double intervalLoss_ = 0.0, intervalNorm_ = 0.0;
  std::vector<double> intervalScalars_;
  int64_t intervalCount_ = 0;
  std::string stopReason_;
  SessionClock::time_point loopStart_;
  bool loopStarted_ = false;
};

}  // namespace prisma::train
